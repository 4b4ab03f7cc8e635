"""The BM25 adapter: same scores as bm25s, incremental add/remove equal to a rebuild, round trip on disk."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from knowledge_base.sparse_index import Bm25SparseIndex


def _corpus(n: int = 120, seed: int = 3) -> list[list[str]]:
    rng = random.Random(seed)
    vocab = [f"w{i}" for i in range(40)]
    return [[rng.choice(vocab) for _ in range(rng.randint(1, 10))] for _ in range(n)]


def test_scores_match_bm25s_lucene() -> None:
    import bm25s

    docs = _corpus()
    ours = Bm25SparseIndex.build(docs)
    vocab = {t: i for i, t in enumerate(sorted({t for d in docs for t in d}))}
    reference = bm25s.BM25(method="lucene")
    reference.index(
        bm25s.tokenization.Tokenized(ids=[[vocab[t] for t in d] for d in docs], vocab=vocab), show_progress=False
    )
    for query in (["w1", "w2"], ["w7"], ["w3", "w3", "w9", "w11"]):
        expected = reference.get_scores_from_ids(sorted({vocab[t] for t in query}))
        np.testing.assert_allclose(ours.scores(ours.encode(query)), expected, rtol=1e-5, atol=1e-6)


def test_unknown_tokens_are_counted_not_scored() -> None:
    index = Bm25SparseIndex.build([["a", "b"], ["b", "c"]])
    terms = index.encode(["a", "zzz", "a"])
    assert terms.unknown == 1
    assert index.scores(terms)[1] == 0.0
    assert index.scores(terms)[0] > 0.0


def test_add_and_remove_equal_a_rebuild() -> None:
    docs = _corpus()
    incremental = Bm25SparseIndex.build(docs[:100]).with_docs(docs[100:], list(range(100, 120)))
    incremental = incremental.without_docs([5, 17])
    survivors = [i for i in range(120) if i not in (5, 17)]
    rebuilt = Bm25SparseIndex.build([docs[i] for i in survivors], survivors)
    for query in (["w1", "w4"], ["w30"]):
        np.testing.assert_allclose(incremental.scores(incremental.encode(query)), rebuilt.scores(rebuilt.encode(query)))
    assert incremental.scores(incremental.encode(docs[5]))[5] == 0.0
    assert incremental.doc_count == 118


def test_coverage_statistics() -> None:
    index = Bm25SparseIndex.build([["a", "b"], ["a"], ["c"]])
    terms = index.encode(["a", "b"])
    matched = index.matched_idf(terms, np.array([0, 1, 2]))
    assert matched[0] == terms.idf_sum
    assert 0 < matched[1] < terms.idf_sum
    assert matched[2] == 0


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    docs = _corpus()
    index = Bm25SparseIndex.build(docs)
    index.save(tmp_path / "sparse")
    loaded = Bm25SparseIndex.load(tmp_path / "sparse")
    terms = ["w2", "w5"]
    np.testing.assert_array_equal(index.scores(index.encode(terms)), loaded.scores(loaded.encode(terms)))


def test_query_hits_are_the_best_documents_by_full_bm25() -> None:
    docs = _corpus(300)
    index = Bm25SparseIndex.build(docs)
    query = index.encode(["w1", "w8", "w20"])
    full = index.scores(query)
    hits = index.search(query, 5)
    assert hits.docs.tolist() == np.argsort(-full, kind="stable")[:5].tolist()
    np.testing.assert_allclose(hits.scores, np.sort(full)[::-1][:5], rtol=1e-5)
    without_best = index.search(query, 5, exclude=hits.docs[:1])
    assert int(hits.docs[0]) not in without_best.docs.tolist()
    present, exact = index.match(query, np.arange(300))
    np.testing.assert_allclose(exact, full, rtol=1e-5)
    assert present.shape == (3, 300)


def test_candidates_come_from_each_tokens_highest_impact_postings(monkeypatch: pytest.MonkeyPatch) -> None:
    import knowledge_base.sparse_index as sparse

    monkeypatch.setattr(sparse, "IMPACT_POSTINGS", 3)
    # "common" is in every document; shorter documents weigh it more (BM25 length normalisation)
    docs = [["common", *[f"pad{i}"] * (i % 7)] for i in range(50)] + [["common", "rare"]]
    index = Bm25SparseIndex.build(docs)
    hits = index.search(index.encode(["common", "rare"]), 10)
    assert len(hits.docs) <= 4
    assert hits.docs[0] == 50
    present, bm25 = index.match(index.encode(["common", "rare"]), np.array([13, 50]))
    assert present.tolist() == [[True, True], [False, True]]  # features stay exact
    assert bm25[1] > bm25[0] > 0


def test_an_index_built_a_few_tokens_at_a_time_scores_and_ranks_as_one_built_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import knowledge_base.sparse_index as sparse

    docs = _corpus(400, seed=5)
    monkeypatch.setattr(sparse, "IMPACT_POSTINGS", 8)  # so candidate lists are cut, the step most at risk
    at_once = Bm25SparseIndex.build(docs[:300]).with_docs(docs[300:], list(range(300, 400))).without_docs([7, 42])
    monkeypatch.setattr(sparse, "POSTING_SPAN", 16)  # a handful of tokens per step
    in_steps = Bm25SparseIndex.build(docs[:300]).with_docs(docs[300:], list(range(300, 400))).without_docs([7, 42])
    for tokens in (["w1", "w8", "w20"], ["w3"], ["w0", "w39", "w11", "w12"]):
        a, b = at_once.encode(tokens), in_steps.encode(tokens)
        np.testing.assert_array_equal(at_once.scores(a), in_steps.scores(b))
        hits_a, hits_b = at_once.search(a, 10), in_steps.search(b, 10)
        assert hits_a.docs.tolist() == hits_b.docs.tolist()
        np.testing.assert_array_equal(hits_a.scores, hits_b.scores)
        np.testing.assert_array_equal(at_once.doc_idf(np.arange(400)), in_steps.doc_idf(np.arange(400)))


@pytest.mark.parametrize("short_postings", [0, 5, 1 << 20])
def test_match_finds_exactly_the_tokens_each_document_holds_whether_columns_are_searched_together_or_alone(
    monkeypatch: pytest.MonkeyPatch, short_postings: int
) -> None:
    import knowledge_base.sparse_index as sparse

    monkeypatch.setattr(sparse, "SHORT_POSTINGS", short_postings)  # all joined, mixed, each column alone
    docs = _corpus(200, seed=11)
    index = Bm25SparseIndex.build(docs).without_docs(list(range(0, 200, 3)))  # some columns empty or gone
    tokens = [f"w{i}" for i in range(0, 40, 3)]
    query = index.encode(tokens)
    wanted = np.array([0, 1, 2, 5, 77, 150, 198, 199])
    present, bm25 = index.match(query, wanted)
    held = [[tokens[row] in docs[d] and d % 3 != 0 for d in wanted] for row in range(len(tokens))]
    assert present.tolist() == held
    np.testing.assert_allclose(bm25, index.scores(query)[wanted], rtol=1e-6)


def test_weights_computed_when_read_equal_stored_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    import knowledge_base.sparse_index as sparse

    docs = [["退款", "课程", "发票"], ["会员", "退款"], ["发票", "开具", "发票"], ["课程"]] * 5
    stored = Bm25SparseIndex.build(docs)
    monkeypatch.setattr(sparse, "STORED_WEIGHTS_MAX", 0)  # a large index: weights are not kept
    computed = Bm25SparseIndex.build(docs)
    terms = stored.encode(["退款", "发票", "课程", "未知"])
    candidates = np.array([0, 2, 3, 7, 19, 25])  # 25: a document this channel never held
    for ours, theirs in zip(stored.match(terms, candidates), computed.match(terms, candidates), strict=True):
        np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_array_equal(stored.scores(terms), computed.scores(terms))
    np.testing.assert_array_equal(stored.search(terms, 5).docs, computed.search(terms, 5).docs)
