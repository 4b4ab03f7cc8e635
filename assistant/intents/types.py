"""Intent predictions and the classifier port."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

OOS = "oos"
RESERVED_INTENTS = ("human_agent", "greeting", "thanks_goodbye", "complaint")


@dataclass(frozen=True)
class IntentPrediction:
    """The predicted intent (``oos`` when rejected), its calibrated confidence, and the runners-up."""

    text: str
    intent: str
    confidence: float
    ranking: tuple[tuple[str, float], ...] = ()

    @property
    def is_oos(self) -> bool:
        """True when the text was rejected as out of scope."""
        return self.intent == OOS


class IntentClassifier(Protocol):
    """Predicts intents for texts; `vectors` (and `gloss_vectors`, of the texts' English glosses) let callers
    pass embeddings they already computed."""

    @property
    def labels(self) -> tuple[str, ...]: ...

    def predict(
        self, texts: Sequence[str], vectors: np.ndarray | None = None, gloss_vectors: np.ndarray | None = None
    ) -> list[IntentPrediction]: ...
