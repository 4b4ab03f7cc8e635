"""Building in two steps (index once, calibrate per seed) gives the knowledge base a one-step build gives."""

from __future__ import annotations

import numpy as np

from assistant.embedding import HashingEmbedder
from knowledge_base import build_knowledge_base
from knowledge_base.builder import calibrate, index_entries
from knowledge_base.indexes import IndexConfig
from knowledge_base.models import FaqEntry


def test_a_rebuild_with_the_same_seed_answers_the_same(faq_entries: list[FaqEntry]) -> None:
    embedder = HashingEmbedder()
    ix = index_entries(faq_entries, embedder, IndexConfig())
    models = calibrate(ix, embedder, seed=3)
    built = build_knowledge_base(faq_entries, embedder, seed=3)
    assert built.models.plain.threshold == models.plain.threshold
    assert built.models.context.threshold == models.context.threshold
    np.testing.assert_array_equal(built.models.plain.coef, models.plain.coef)
    np.testing.assert_array_equal(built.models.context.coef, models.context.coef)
