"""The FAISS adapter against real FAISS: exact and HNSW search, exclusion, removal without rebuild, persistence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from knowledge_base.vector_index import FaissVectorIndex


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

    np.testing.assert_allclose(smaller.vectors(np.array([1005])), x[5:6], atol=1e-6)
    smaller.save(tmp_path / "dense.faiss")
    loaded = FaissVectorIndex.load(tmp_path / "dense.faiss")
    assert loaded.kind == kind
    assert loaded.size == 298
    _, again = loaded.search(x[:2], 3)
    np.testing.assert_array_equal(again, after)


def test_large_indexes_use_hnsw() -> None:
    assert FaissVectorIndex.create(8, expected_size=10).kind == "flat"
    assert FaissVectorIndex.create(8, expected_size=10_000_000).kind == "hnsw"
