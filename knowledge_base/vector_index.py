"""Dense retrieval: a FAISS inner-product index (exact flat, or HNSW over float16 vectors for large KBs) keyed by
document ids."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Protocol

import numpy as np

# Flat search cost grows linearly (about 1 ms per 10k vectors of 384 dims on the benchmark machine);
# above this many vectors HNSW keeps a query well under a millisecond. Measured: bench/results/kb_bench.md.
HNSW_MIN_VECTORS = 20_000
HNSW_M = 16
HNSW_EF_CONSTRUCTION = 40
HNSW_EF_SEARCH = 64
PARALLEL_ADD_MIN = 10_000
ADD_CHUNK = 16_384  # vectors gathered and added per FAISS call: no full-size copy of a big batch is made


class VectorIndex(Protocol):
    """Nearest-neighbour search over L2-normalised vectors identified by integer ids."""

    @property
    def dimension(self) -> int: ...

    @property
    def size(self) -> int: ...

    def search(
        self, queries: np.ndarray, k: int, exclude: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]: ...

    def vectors(self, ids: np.ndarray) -> np.ndarray: ...


_configured = False


def _faiss() -> Any:
    global _configured
    import faiss

    if not _configured:
        # One query at a time is tiny work: OpenMP fan-out costs 20x more than the search itself on a
        # shared 2-core machine (0.8 ms vs 0.03 ms at 500 vectors); callers parallelise across requests.
        faiss.omp_set_num_threads(1)
        _configured = True
    return faiss


class FaissVectorIndex:
    """FAISS `IndexIDMap2` around `IndexFlatIP` or `IndexHNSWSQ`; copy-on-write add and remove.

    HNSW stores its vectors as float16: half the memory of float32 (two 350k-document indexes at 100k entries),
    and the stored vectors give cosines within 1e-4 of the exact ones (tests/knowledge_base/test_vector_index.py
    checks neighbours and cosines on real embeddings). Snapshots written with float32 `IndexHNSWFlat` still load.
    HNSW cannot delete vectors, so removed ids become tombstones filtered by an id selector at search time.
    """

    def __init__(self, index: Any, kind: str, tombstones: np.ndarray | None = None) -> None:
        self._index = index
        self.kind = kind
        self._tombstones = np.unique(tombstones) if tombstones is not None else np.zeros(0, np.int64)
        self._stored: _StoredVectors | bool | None = False  # False: not looked at yet (see `_stored_vectors`)

    @classmethod
    def create(cls, dimension: int, expected_size: int = 0, kind: str | None = None) -> FaissVectorIndex:
        """An empty index: flat below `HNSW_MIN_VECTORS` expected vectors, HNSW above."""
        faiss = _faiss()
        kind = kind or ("hnsw" if expected_size >= HNSW_MIN_VECTORS else "flat")
        if kind == "hnsw":
            base = faiss.IndexHNSWSQ(dimension, faiss.ScalarQuantizer.QT_fp16, HNSW_M, faiss.METRIC_INNER_PRODUCT)
            base.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
            base.hnsw.efSearch = HNSW_EF_SEARCH
        elif kind == "flat":
            base = faiss.IndexFlatIP(dimension)
        else:
            raise ValueError(f"unknown index kind {kind!r}")
        return cls(faiss.IndexIDMap2(base), kind)

    @property
    def dimension(self) -> int:
        """Vector dimension."""
        return int(self._index.d)

    @property
    def size(self) -> int:
        """Number of live vectors."""
        return int(self._index.ntotal) - len(self._tombstones)

    def search(self, queries: np.ndarray, k: int, exclude: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, ids) per query row; ids are -1 where fewer than k vectors qualify."""
        faiss = _faiss()
        queries = np.ascontiguousarray(queries, dtype=np.float32).reshape(-1, self.dimension)
        k = max(1, min(k, max(self.size, 1)))
        blocked = self._tombstones
        if exclude is not None and len(exclude):
            blocked = np.union1d(blocked, np.asarray(exclude, dtype=np.int64))
        params = None
        if len(blocked) or self.kind == "hnsw":
            selector = faiss.IDSelectorNot(faiss.IDSelectorBatch(blocked.astype(np.int64))) if len(blocked) else None
            if self.kind == "hnsw":
                params = faiss.SearchParametersHNSW(efSearch=max(HNSW_EF_SEARCH, k))
                if selector is not None:
                    params.sel = selector
            else:
                params = faiss.SearchParameters(sel=selector)
        scores, ids = self._index.search(queries, k, params=params)
        return scores, ids

    def vectors(self, ids: np.ndarray) -> np.ndarray:
        """The stored vectors of these ids (for exact scores of candidates)."""
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        if not len(ids):
            return np.zeros((0, self.dimension), dtype=np.float32)
        stored = self._stored_vectors()
        if stored is not None:
            return stored.rows(ids)
        out: np.ndarray = self._index.reconstruct_batch(ids)
        return out

    def _stored_vectors(self) -> _StoredVectors | None:
        """The stored vectors read in place, or None when the storage is not a plain float16/float32 table.

        The index never changes once wrapped (`with_vectors` and `without` return new objects), so the view
        stays valid as long as this object holds the index.
        """
        if self._stored is False:
            self._stored = _StoredVectors.of(self._index)
        return self._stored if isinstance(self._stored, _StoredVectors) else None

    def with_vectors(self, ids: np.ndarray, vectors: np.ndarray, rows: np.ndarray | None = None) -> FaissVectorIndex:
        """A new index that also holds these vectors (the old one stays valid for in-flight searches).

        With `rows`, id `ids[i]` gets `vectors[rows[i]]` (a table of distinct texts' vectors is not expanded).
        """
        faiss = _faiss()
        clone = faiss.clone_index(self._index) if self._index.ntotal else self._fresh_like()
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        picks = np.arange(len(ids)) if rows is None else np.asarray(rows, dtype=np.int64)
        if len(ids):
            # building HNSW graphs is heavy and parallel: use every core for big adds, then back to one
            threads = (os.cpu_count() or 1) if len(ids) >= PARALLEL_ADD_MIN else 1
            faiss.omp_set_num_threads(threads)
            try:
                for start in range(0, len(ids), ADD_CHUNK):
                    chunk = np.ascontiguousarray(vectors[picks[start : start + ADD_CHUNK]], dtype=np.float32)
                    clone.add_with_ids(chunk, ids[start : start + ADD_CHUNK])
            finally:
                faiss.omp_set_num_threads(1)
        return FaissVectorIndex(clone, self.kind, self._tombstones)

    def without(self, ids: np.ndarray) -> FaissVectorIndex:
        """A new index without these ids (removed for flat, tombstoned for HNSW)."""
        faiss = _faiss()
        ids = np.asarray(ids, dtype=np.int64)
        if self.kind == "hnsw":
            return FaissVectorIndex(self._index, self.kind, np.union1d(self._tombstones, ids))
        clone = faiss.clone_index(self._index)
        clone.remove_ids(faiss.IDSelectorBatch(ids))
        return FaissVectorIndex(clone, self.kind, self._tombstones)

    def _fresh_like(self) -> Any:
        return FaissVectorIndex.create(self.dimension, kind=self.kind)._index

    def save(self, path: Path) -> None:
        """Write the FAISS index, plus tombstones when there are any."""
        _faiss().write_index(self._index, str(path))
        np.save(path.with_suffix(".tombstones.npy"), self._tombstones)

    @classmethod
    def load(cls, path: Path) -> FaissVectorIndex:
        """Read an index written by `save`."""
        faiss = _faiss()
        index = faiss.read_index(str(path))
        kind = "hnsw" if "HNSW" in type(faiss.downcast_index(index.index)).__name__ else "flat"
        stones = path.with_suffix(".tombstones.npy")
        return cls(index, kind, np.load(stones) if stones.exists() else None)


class _StoredVectors:
    """A zero-copy NumPy view of an `IndexIDMap2`'s stored vectors, for candidates' exact scores.

    FAISS' `reconstruct_batch` decodes one vector at a time through the id map's hash table (about half of a
    100k-entry search's candidate scoring); the same rows gathered from the code table give bitwise the same
    float32 values (float16 widens exactly).
    """

    def __init__(self, table: np.ndarray, id_map: np.ndarray) -> None:
        self._table = table  # (ntotal, dimension), float16 or float32, a view of FAISS-owned memory
        self._id_map = id_map  # internal row -> external id, ascending
        self._identity = bool(len(id_map) == 0 or (id_map[0] == 0 and id_map[-1] == len(id_map) - 1))

    @classmethod
    def of(cls, index: Any) -> _StoredVectors | None:
        """The view for an IDMap2 over IndexFlat, IndexHNSWFlat or IndexHNSWSQ(fp16), else None."""
        faiss = _faiss()
        try:
            base = faiss.downcast_index(index.index)
            storage = faiss.downcast_index(base.storage) if hasattr(base, "storage") else base
            dim = int(storage.d)
            if isinstance(storage, faiss.IndexFlat):
                dtype: Any = np.float32
            elif isinstance(storage, faiss.IndexScalarQuantizer) and storage.sq.qtype == faiss.ScalarQuantizer.QT_fp16:
                dtype = np.float16
            else:
                return None
            n = int(storage.ntotal)
            if not n or int(storage.code_size) != dim * np.dtype(dtype).itemsize:
                return None
            codes = faiss.rev_swig_ptr(storage.codes.data(), n * int(storage.code_size))
            id_map = faiss.rev_swig_ptr(index.id_map.data(), int(index.id_map.size()))
        except (AttributeError, TypeError):
            return None
        if len(id_map) != n or (n > 1 and not bool(np.all(id_map[1:] > id_map[:-1]))):
            return None
        return cls(codes.view(dtype).reshape(n, dim), id_map)

    def rows(self, ids: np.ndarray) -> np.ndarray:
        """The float32 vectors of these external ids (KeyError for an id never added)."""
        rows = ids if self._identity else np.searchsorted(self._id_map, ids)
        if len(rows) and (int(rows.min()) < 0 or int(rows.max()) >= len(self._id_map)):
            raise KeyError("id not in the index")
        if not self._identity and not np.array_equal(self._id_map[rows], ids):
            raise KeyError("id not in the index")
        out: np.ndarray = self._table[rows].astype(np.float32)
        return out
