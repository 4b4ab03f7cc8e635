"""A fusion model calibrated once on a FAQ rich in alternative questions, for FAQs that cannot calibrate themselves.

Calibration learns what a right answer looks like from an entry's other wordings (`knowledge_base.calibration`).
A FAQ whose entries mostly have none offers only near-copies of its visible questions as positives: its model
learns that right answers match almost word for word and its bar rejects most real paraphrases (README, "FAQs
without alternative questions"). The features are similarities, coverages and ranks, not the FAQ's words, so the
models calibrated on the demo FAQ (about four alternatives per entry) transfer: such a FAQ borrows them.

`python -m evals.kb_prior [--faq demo/faq]` regenerates the shipped file; a test fails when the features change
without it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import lru_cache
from importlib import resources
from typing import Any

from knowledge_base.features import context_feature_names, feature_names
from knowledge_base.fusion import POINTWISE, FusionModel
from knowledge_base.indexes import IndexConfig
from knowledge_base.models import FaqEntry

PRIOR_FILE = "data/prior_fusion.json"
# Below this share of entries with an alternative question, a FAQ borrows the prior. Measured on two FAQs with
# their alternatives stripped from a quarter, half, three quarters and all of the entries (README): from half of
# them stripped (about 60% left with one) the borrowed models answer more correctly at a similar OOS rejection.
MIN_ALTERNATIVES_SHARE = 0.75


def alternatives_share(entries: Sequence[FaqEntry]) -> float:
    """Share of the entries with at least one alternative question (1.0 for no entries)."""
    return sum(bool(e.alt_questions) for e in entries) / len(entries) if entries else 1.0


@lru_cache(maxsize=1)
def _shipped() -> Mapping[str, Any] | None:
    path = resources.files("knowledge_base").joinpath(PRIOR_FILE)
    if not path.is_file():
        return None
    data: Mapping[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def prior_models(config: IndexConfig, model: str) -> tuple[FusionModel, FusionModel] | None:
    """The shipped (plain, follow-up) models when they fit this index: the same embedding model, pointwise fusion
    and exactly the features `config` computes; None otherwise (the FAQ calibrates itself)."""
    data = _shipped()
    if data is None or data.get("model") != model or config.fusion != POINTWISE:
        return None
    plain = FusionModel.from_json(data["plain"])
    context = FusionModel.from_json(data["context"])
    if plain.features != feature_names(config) or context.features != context_feature_names(config):
        return None
    return plain, context


def prior_document(plain: FusionModel, context: FusionModel, model: str, source: str, seed: int) -> dict[str, Any]:
    """The JSON document `prior_models` reads."""
    return {
        "model": model,
        "source": source,
        "seed": seed,
        "plain": plain.to_json(),
        "context": context.to_json(),
    }
