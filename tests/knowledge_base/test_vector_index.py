"""The FAISS adapter against real FAISS: exact and HNSW search, exclusion, removal without rebuild, persistence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assistant.embedding import Embedder
from knowledge_base.vector_index import HNSW_MIN_VECTORS, SQ8_MIN_VECTORS, FaissVectorIndex


def _vectors(n: int = 300, d: int = 32) -> np.ndarray:
    x = np.random.default_rng(0).standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.mark.parametrize("kind", ["flat", "hnsw"])
def test_search_remove_exclude_and_reload(kind: str, tmp_path: Path) -> None:
    x = _vectors()
    ids = np.arange(1000, 1300)
    index = FaissVectorIndex.create(32, kind=kind).with_vectors(ids, x)
    _, found = index.search(x[:3], 1)
    assert found[:, 0].tolist() == [1000, 1001, 1002]

    _, excluded = index.search(x[:1], 5, exclude=np.array([1000]))
    assert 1000 not in excluded[0]

    smaller = index.without(np.array([1000, 1001]))
    assert smaller.size == 298
    _, after = smaller.search(x[:2], 3)
    assert not {1000, 1001} & set(after.ravel().tolist())
    _, before = index.search(x[:1], 1)
    assert before[0, 0] == 1000  # the old index is untouched (in-flight searches keep working)

    # HNSW keeps float16 vectors: a stored vector is exact to float16 precision
    np.testing.assert_allclose(smaller.vectors(np.array([1005])), x[5:6], atol=1e-6 if kind == "flat" else 1e-3)
    smaller.save(tmp_path / "dense.faiss")
    loaded = FaissVectorIndex.load(tmp_path / "dense.faiss")
    assert loaded.kind == kind
    assert loaded.size == 298
    _, again = loaded.search(x[:2], 3)
    np.testing.assert_array_equal(again, after)


def test_large_indexes_use_hnsw() -> None:
    assert FaissVectorIndex.create(8, expected_size=10).kind == "flat"
    assert FaissVectorIndex.create(8, expected_size=10_000_000).kind == "hnsw"


def test_rows_pick_each_id_its_vector_from_a_table_of_distinct_vectors() -> None:
    table = _vectors(10)
    rows = np.array([3, 3, 7, 0])
    index = FaissVectorIndex.create(32, kind="flat").with_vectors(np.arange(4), table, rows)
    np.testing.assert_array_equal(index.vectors(np.arange(4)), table[rows])


@pytest.mark.parametrize("kind", ["flat", "hnsw"])
def test_ids_added_in_any_order_get_their_own_vectors(kind: str) -> None:
    x = _vectors(50)
    ids = np.random.default_rng(1).permutation(100)[:50]  # as large builds add documents: by text length
    index = FaissVectorIndex.create(32, kind=kind).with_vectors(ids, x)
    np.testing.assert_allclose(index.vectors(ids[::-1]), x[::-1], atol=1e-3 if kind == "hnsw" else 0)
    np.testing.assert_allclose(index.similarities(ids[:5], x[0]), x[:5] @ x[0], atol=1e-3 if kind == "hnsw" else 1e-6)
    missing = np.setdiff1d(np.arange(100), ids)[:1]
    with pytest.raises(KeyError):
        index.vectors(missing)


@pytest.mark.integration
def test_float16_and_8bit_hnsw_find_the_exact_neighbours_and_cosines_of_real_embeddings(
    real_embedder: Embedder,
) -> None:
    import faiss

    from bench.kb_synthetic import synthetic_faq, synthetic_queries

    entries = synthetic_faq(400)
    texts = list(dict.fromkeys(t for e in entries for t in e.all_questions))
    x = real_embedder.embed(texts)
    ids = np.arange(len(texts))
    base = faiss.IndexHNSWFlat(x.shape[1], 16, faiss.METRIC_INNER_PRODUCT)
    base.hnsw.efConstruction = 40
    float32 = FaissVectorIndex(faiss.IndexIDMap2(base), "hnsw").with_vectors(ids, x)
    float16 = FaissVectorIndex.create(x.shape[1], kind="hnsw").with_vectors(ids, x)
    eight_bit = FaissVectorIndex.create(x.shape[1], SQ8_MIN_VECTORS, kind="hnsw").with_vectors(ids, x)
    flat = FaissVectorIndex.create(x.shape[1], kind="flat").with_vectors(ids, x)
    queries = real_embedder.embed(synthetic_queries(entries, 60))
    _, exact = flat.search(queries, 10)
    exact_cosines = flat.vectors(ids) @ queries.T
    for index, tolerance in ((float32, 0.0), (float16, 1e-3), (eight_bit, 3e-3)):
        _, found = index.search(queries, 20)  # the knowledge base takes 20 dense candidates
        recall = np.mean([len(set(e) & set(f)) / 10 for e, f in zip(exact, found, strict=True)])
        assert recall >= 0.95
        # features read the stored vectors: their cosines stay close to the float32 ones
        assert np.abs(exact_cosines - index.vectors(ids) @ queries.T).max() <= tolerance
        assert index.vectors(ids).dtype == np.float32


def test_large_indexes_store_8_bits_per_dimension(tmp_path: Path) -> None:
    import faiss

    x = _vectors(2000)
    index = FaissVectorIndex.create(32, expected_size=SQ8_MIN_VECTORS).with_vectors(np.arange(len(x)), x)
    storage = faiss.downcast_index(faiss.downcast_index(index._index.index).storage)
    assert index.kind == "hnsw"
    assert storage.code_size == 32  # one byte per dimension
    index.save(tmp_path / "dense.faiss")
    loaded = FaissVectorIndex.load(tmp_path / "dense.faiss")
    assert loaded.kind == "hnsw"
    np.testing.assert_array_equal(loaded.vectors(np.arange(5)), index.vectors(np.arange(5)))
    _, found = loaded.search(x[:20], 1)
    assert found[:, 0].tolist() == list(range(20))


def test_a_float32_hnsw_index_written_by_older_versions_still_loads(tmp_path: Path) -> None:
    import faiss

    x = _vectors()
    old = faiss.IndexIDMap2(faiss.IndexHNSWFlat(32, 16, faiss.METRIC_INNER_PRODUCT))
    old.add_with_ids(x, np.arange(len(x)))
    faiss.write_index(old, str(tmp_path / "dense.faiss"))
    loaded = FaissVectorIndex.load(tmp_path / "dense.faiss")
    assert loaded.kind == "hnsw"
    _, found = loaded.search(x[:3], 1)
    assert found[:, 0].tolist() == [0, 1, 2]
    grown = loaded.with_vectors(np.array([500]), x[:1] * -1)
    assert grown.size == len(x) + 1


@pytest.mark.parametrize(("expected", "atol"), [(HNSW_MIN_VECTORS, 1e-3), (SQ8_MIN_VECTORS, 1e-2)])
def test_a_large_faq_is_indexed_as_it_is_embedded_with_the_vectors_hnsw_keeps_and_exact_word_vectors(
    expected: int, atol: float
) -> None:
    from assistant.embedding import HashingEmbedder
    from knowledge_base import FaqEntry
    from knowledge_base.expansion import word_gloss
    from knowledge_base.indexes import IndexConfig, IndexSet

    embedder = HashingEmbedder()
    entries = [
        FaqEntry(id=f"e{i}", question=f"第{i}号课程怎么退款", answer=f"课程{i}在七天内可以申请退款。", category="c")
        for i in range(30)
    ]
    entries.append(FaqEntry(id="en", question="How do I get an invoice?", answer="Open the order page.", category="c"))
    ix = IndexSet.empty(IndexConfig(), embedder.dimension, expected_docs=expected).add(entries, embedder.embed)
    assert ix.dense is not None
    assert ix.dense.kind == "hnsw"
    docs = np.arange(len(ix.doc_slot))
    texts = [ix.doc_text(int(d)) for d in docs]
    # each document holds its own text's vector (documents go in by text length, not by id), to float16 or 8 bits
    np.testing.assert_allclose(ix.dense.vectors(docs), embedder.embed(texts), atol=atol)
    _, found = ix.dense.search(embedder.embed(["第7号课程怎么退款"]), 1)
    assert texts[int(found[0, 0])] == "第7号课程怎么退款"
    assert ix.word_vectors is not None
    assert ix.word_vectors.matrix.dtype == np.float32
    words = list(ix.word_vectors.words)
    np.testing.assert_allclose(
        ix.word_vectors.matrix, embedder.embed([word_gloss(w) for w in words]), rtol=0, atol=1e-6
    )


@pytest.mark.parametrize("kind", ["flat", "hnsw", "hnsw-8bit", "hnsw-float32"])
def test_candidates_get_exactly_the_stored_vectors_after_adds_and_removals(kind: str, tmp_path: Path) -> None:
    import faiss

    x = _vectors()
    ids = np.arange(0, 2 * len(x), 2)  # gaps in the ids, as after removed entries
    if kind == "hnsw-float32":  # the layout of snapshots written by older versions
        old = faiss.IndexIDMap2(faiss.IndexHNSWFlat(32, 16, faiss.METRIC_INNER_PRODUCT))
        old.add_with_ids(x, ids)
        faiss.write_index(old, str(tmp_path / "dense.faiss"))
        index = FaissVectorIndex.load(tmp_path / "dense.faiss")
    elif kind == "hnsw-8bit":
        index = FaissVectorIndex.create(32, SQ8_MIN_VECTORS).with_vectors(ids, x)
    else:
        index = FaissVectorIndex.create(32, kind=kind).with_vectors(ids, x)
    index = index.without(ids[10:20]).with_vectors(np.array([1001, 1003]), x[:2] * -1)
    wanted = np.array([1003, 0, 598, 40, 1001, 2])
    got = index.vectors(wanted)
    assert np.array_equal(got, index._index.reconstruct_batch(wanted))  # what FAISS itself decodes, bit for bit
    atol = {"hnsw": 1e-3, "hnsw-8bit": 1e-2}.get(kind, 0)
    np.testing.assert_allclose(got[[1, 3, 5]], x[[0, 20, 1]], atol=atol)
    np.testing.assert_allclose(got[0], -x[1], atol=atol)
    # candidates' cosines: the stored vectors' (8-bit codes are not decoded first: equal within rounding)
    query = x[7]
    similarities = index.similarities(wanted, query)
    if kind == "hnsw-8bit":
        np.testing.assert_allclose(similarities, got @ query, rtol=0, atol=1e-5)
    else:
        np.testing.assert_array_equal(similarities, got @ query)
    # several queries over the same candidates (a follow-up's views): each gets the cosines it gets alone
    queries = [x[7], x[8] * -1, x[9]]
    for alone, together in zip(
        [index.similarities(wanted, q) for q in queries], index.similarities_many(wanted, queries), strict=True
    ):
        np.testing.assert_array_equal(together, alone)
    with pytest.raises(KeyError):
        index.vectors(np.array([1]))  # never added
