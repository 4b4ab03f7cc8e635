"""Candidate features: the shortcuts taken for speed give bitwise the features of the full computation."""

from __future__ import annotations

import numpy as np
import pytest

from knowledge_base import KnowledgeBase
from knowledge_base import features as F
from knowledge_base.models import SearchResult

pytestmark = pytest.mark.integration

QUERIES = ["课程退宽", "我买错课程了，钱能退给我吗", "自动续飞怎么关", "How can I get my money back", "发票", "你好"]


def _every_document(
    ix: F.IndexSet, views: list[F.QueryView], channels: tuple[str, ...], g: F._Groups, answer_channel: str
) -> list[dict[str, tuple[np.ndarray, np.ndarray]]]:
    """The lookups before answers were skipped and views shared them: every index over every candidate document,
    each view's token sets on their own."""
    out = []
    for view in views:
        wanted = [(name, F._sparse(ix, name), view.terms[name]) for name in channels]
        if view.cover is not None:
            wanted.append((F._COVER_KEY, ix.sparse["words"], view.cover.terms))
        out.append({key: index.match_many([terms], g.docs)[0] for key, index, terms in wanted})
    return out


def test_shared_and_question_only_lookups_change_no_feature(
    real_kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    ix = real_kb.indexes
    assert ix.config.index_answers  # answers are indexed ...
    assert len(ix.config.channels) > 1  # ... and some channel skips them
    context = real_kb.entries[0].question
    prepared = real_kb.query_vectors(QUERIES)
    fast = [F.score_candidates(ix, q, p) for q, p in zip(QUERIES, prepared, strict=True)]
    fast.append(F.score_candidates(ix, QUERIES[0], prepared[0], context=context))
    monkeypatch.setattr(F, "_lookups", _every_document)
    full = [F.score_candidates(ix, q, p) for q, p in zip(QUERIES, prepared, strict=True)]
    full.append(F.score_candidates(ix, QUERIES[0], prepared[0], context=context))
    for a, b in zip(fast, full, strict=True):
        assert np.array_equal(a.slots, b.slots)
        assert np.array_equal(a.matrix, b.matrix)
        assert np.array_equal(a.best_doc, b.best_doc)
        assert np.array_equal(a.prior, b.prior)


def test_a_follow_up_compares_a_word_new_to_the_faq_with_the_word_table_once(
    real_kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    ix = real_kb.indexes
    assert ix.word_vectors is not None
    query = "淘宝买的课程能退吗"  # 淘宝: a word the FAQ never uses
    prepared = real_kb.query_vectors([query])[0]
    assert prepared.words  # it needs its own gloss vector
    context = real_kb.entries[0].question
    text, glossed = ix.vectors_for([context], None), ix.vectors_for([context], None, glossed=True)
    assert text is not None
    context_vectors = F.follow_up_vectors(
        prepared, F.QueryVectors(text[0], glossed[0] if glossed is not None else None)
    )
    products: list[str] = []
    nearest = type(ix.word_vectors)._nearest

    def counted(self: object, vector: np.ndarray) -> dict[str, float]:
        products.append("x")
        return nearest(self, vector)  # type: ignore[arg-type]

    monkeypatch.setattr(type(ix.word_vectors), "_nearest", counted)
    shared = F.score_candidates(ix, query, prepared, context=context, context_vectors=context_vectors)
    assert len(products) == len(prepared.words)  # once per new word, not once per view
    view = F.make_view
    monkeypatch.setattr(F, "make_view", lambda *args, **kwargs: view(*args, **{**kwargs, "seen": None}))
    products.clear()
    alone = F.score_candidates(ix, query, prepared, context=context, context_vectors=context_vectors)
    assert len(products) == 2 * len(prepared.words)  # unshared, the query's view and context + query's pay
    assert np.array_equal(shared.matrix, alone.matrix)
    assert np.array_equal(shared.slots, alone.slots)


def test_queries_searched_together_compare_a_shared_new_word_with_the_word_table_once(
    real_kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    queries = ["淘宝买的课程能退吗", "淘宝的发票怎么开"]
    word_vectors = real_kb.indexes.word_vectors
    assert word_vectors is not None
    apart = [real_kb.search(q) for q in queries]
    products: list[str] = []
    nearest = type(word_vectors)._nearest

    def counted(self: object, vector: np.ndarray) -> dict[str, float]:
        products.append("x")
        return nearest(self, vector)  # type: ignore[arg-type]

    monkeypatch.setattr(type(word_vectors), "_nearest", counted)
    together = real_kb.search_batch(queries)
    new_words = word_vectors.missing(w for q in queries for w in F.analyze(q).words)
    assert "淘宝" in new_words
    assert len(products) == len(new_words)  # 淘宝 once for both queries
    # the same entries as searched one at a time (scores may move in the last bits: the model ran batched)
    assert [[h.id for h in r.hits] for r in together] == [[h.id for h in r.hits] for r in apart]


def _exact(result: SearchResult) -> list[tuple[str, float, str, dict[str, float]]]:
    return [(h.id, h.score, h.matched, h.features) for h in result.hits]


def test_a_follow_up_batch_reads_the_message_alone_exactly_as_a_search_of_it_alone(
    real_kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the dialogue searches a follow-up's two readings together: the plain one reuses the follow-up's view and
    # lookups, which must change nothing the user sees (the same entries, scores and features to the bit)
    texts = ["那能退吗", "发票怎么开", "How can I get my money back", "会员呢"]
    vectors = real_kb.query_vectors(texts)
    contexts = [e.question for e in real_kb.entries[:4]]
    looked: list[int] = []
    lookups = F._lookups

    def counted(*args: object, **kwargs: object) -> list[dict[str, tuple[np.ndarray, np.ndarray]]]:
        looked.append(1)
        return lookups(*args, **kwargs)  # type: ignore[arg-type]

    for text, prepared, context in zip(texts, vectors, contexts, strict=True):
        alone = real_kb.search(text, prepared=prepared)
        with_context = real_kb.search(text, prepared=prepared, context=context)
        monkeypatch.setattr(F, "_lookups", counted)
        looked.clear()
        plain, follow_up = real_kb.search_batch([text, text], contexts=[None, context], prepared=[prepared, prepared])
        monkeypatch.setattr(F, "_lookups", lookups)
        assert looked == [1]  # one lookup for the batch's four views
        assert _exact(plain) == _exact(alone)
        assert plain.answerable == alone.answerable
        assert _exact(follow_up) == _exact(with_context)
        assert follow_up.answerable == with_context.answerable
