"""On the real knowledge base and intent model, a turn costs the embedding model one call, not one per reader."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from assistant.content import ContentManager
from assistant.dialogue import DialogueState, UserTurn
from assistant.embedding import CachingEmbedder, Embedder
from assistant.settings import Settings

pytestmark = pytest.mark.integration


class CountingEmbedder:
    """The real model, counting its calls and texts."""

    def __init__(self, inner: Embedder) -> None:
        self._inner = inner
        self.calls: list[list[str]] = []

    @property
    def name(self) -> str:
        return self._inner.name

    @property
    def dimension(self) -> int:
        return self._inner.dimension

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(list(texts))
        return self._inner.embed(texts)


def test_a_new_chinese_question_is_embedded_with_its_gloss_in_one_model_call(
    prepared_data_dir: Path, real_embedder: Embedder
) -> None:
    model = CountingEmbedder(real_embedder)
    settings = Settings(data_dir=prepared_data_dir, build_on_start=False, log_json=False)
    content = ContentManager(settings, CachingEmbedder(model))
    content.prepare()
    engine = content.engine()
    model.calls.clear()

    turn = UserTurn("买了课程三天还能退钱吗", None, "free", "web", None, datetime(2026, 3, 2, 10, tzinfo=UTC))
    decision, _ = engine.decide(DialogueState(), turn)

    assert decision.action == "answer"
    assert len(model.calls) == 1  # the intent classifier and the search share it
    assert model.calls[0][0] == "买了课程三天还能退钱吗"
    assert len(model.calls[0]) >= 2  # with the English gloss the search reads as well
