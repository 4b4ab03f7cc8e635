"""Dense retrieval: a FAISS inner-product index (exact flat, or HNSW over float16 or 8-bit vectors for large KBs)
keyed by document ids."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

# Flat search cost grows linearly (about 1 ms per 10k vectors of 384 dims on the benchmark machine);
# above this many vectors HNSW keeps a query well under a millisecond. Measured: bench/results/kb_bench.md.
HNSW_MIN_VECTORS = 20_000
# From this many vectors HNSW stores 8-bit scalar-quantised vectors (384 bytes each, 768 in float16): the two
# 350k-vector graphs of a 100k-entry KB drop from about 320 MB to 185 MB each. Cosines move by about 1e-3
# (tests/knowledge_base/test_vector_index.py); bench/results/kb_bench.md reports the ranking change at 100k.
SQ8_MIN_VECTORS = 100_000
SQ8_TRAIN_VECTORS = 65_536  # vectors sampled to learn each dimension's range
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

    HNSW stores its vectors as float16: half the memory of float32, and the stored vectors give cosines within
    1e-4 of the exact ones (tests/knowledge_base/test_vector_index.py checks neighbours and cosines on real
    embeddings); from `SQ8_MIN_VECTORS` expected vectors as 8 bits per dimension (a quarter of float32).
    Snapshots written with float32 `IndexHNSWFlat` still load.
    HNSW cannot delete vectors, so removed ids become tombstones filtered by an id selector at search time.
    """

    def __init__(self, index: Any, kind: str, tombstones: np.ndarray | None = None) -> None:
        self._index = index
        self.kind = kind
        self._tombstones = np.unique(tombstones) if tombstones is not None else np.zeros(0, np.int64)
        self._stored: _StoredVectors | bool | None = False  # False: not looked at yet (see `_stored_vectors`)

    @classmethod
    def create(cls, dimension: int, expected_size: int = 0, kind: str | None = None) -> FaissVectorIndex:
        """An empty index: flat below `HNSW_MIN_VECTORS` expected vectors, HNSW above (8-bit from `SQ8_MIN_VECTORS`)."""
        faiss = _faiss()
        kind = kind or ("hnsw" if expected_size >= HNSW_MIN_VECTORS else "flat")
        if kind == "hnsw":
            sq = faiss.ScalarQuantizer
            qtype = sq.QT_8bit if expected_size >= SQ8_MIN_VECTORS else sq.QT_fp16
            base = faiss.IndexHNSWSQ(dimension, qtype, HNSW_M, faiss.METRIC_INNER_PRODUCT)
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

    def similarities(self, ids: np.ndarray, query: np.ndarray) -> np.ndarray:
        """Inner products of one query vector with the stored vectors of these ids (candidates' cosines)."""
        return self.similarities_many(ids, [query])[0]

    def similarities_many(self, ids: np.ndarray, queries: Sequence[np.ndarray]) -> list[np.ndarray]:
        """`similarities` of each query with the same ids: their vectors are gathered once, and each query's
        product is the one `similarities` computes alone (the same values to the bit)."""
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        vectors = [np.asarray(query, dtype=np.float32) for query in queries]
        stored = self._stored_vectors() if len(ids) else None
        if stored is not None:
            return stored.similarities_many(ids, vectors)
        rows = self.vectors(ids)
        return [rows @ query for query in vectors]

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
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        picks = np.arange(len(ids)) if rows is None else np.asarray(rows, dtype=np.int64)
        chunks = (
            (ids[start : start + ADD_CHUNK], vectors[picks[start : start + ADD_CHUNK]])
            for start in range(0, len(ids), ADD_CHUNK)
        )
        return self.with_vector_chunks(
            chunks, len(ids), lambda: vectors[picks[:: max(1, len(picks) // SQ8_TRAIN_VECTORS)]]
        )

    def with_vector_chunks(
        self, chunks: Iterable[tuple[np.ndarray, np.ndarray]], expected: int, sample: Callable[[], np.ndarray]
    ) -> FaissVectorIndex:
        """A new index that also holds each chunk's (ids, vectors), added as they come: no table of them all is
        needed. An 8-bit index that has not learnt its ranges yet learns them from `sample()` first."""
        faiss = _faiss()
        clone = faiss.clone_index(self._index)
        if expected and not clone.is_trained:
            clone.train(np.ascontiguousarray(sample(), dtype=np.float32))
        # building HNSW graphs is heavy and parallel: use every core for big adds, then back to one
        faiss.omp_set_num_threads((os.cpu_count() or 1) if expected >= PARALLEL_ADD_MIN else 1)
        try:
            for ids, vectors in chunks:
                if len(ids):
                    rows = np.ascontiguousarray(vectors, dtype=np.float32)
                    clone.add_with_ids(rows, np.ascontiguousarray(ids, dtype=np.int64))
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
    float32 values (float16 widens exactly; 8-bit codes are decoded as FAISS does, below).
    """

    def __init__(
        self, table: np.ndarray, id_map: np.ndarray, ranges: np.ndarray | None, row_of: np.ndarray | None
    ) -> None:
        self._table = table  # (ntotal, dimension), float16, float32 or uint8 codes, a view of FAISS-owned memory
        self._id_map = id_map  # internal row -> external id
        self._ranges = ranges  # 8-bit codes: (2, dimension) of each dimension's minimum and range
        # external id -> row (-1: none) when the ids were not added in ascending order (large builds add documents
        # in embedding order: indexes._embed_into); else ids are found by binary search, or are the rows
        self._row_of = row_of
        self._identity = row_of is None and bool(len(id_map) == 0 or (id_map[0] == 0 and id_map[-1] == len(id_map) - 1))

    @classmethod
    def of(cls, index: Any) -> _StoredVectors | None:
        """The view for an IDMap2 over IndexFlat, IndexHNSWFlat or IndexHNSWSQ (fp16 or 8-bit), else None."""
        faiss = _faiss()
        try:
            base = faiss.downcast_index(index.index)
            storage = faiss.downcast_index(base.storage) if hasattr(base, "storage") else base
            dim = int(storage.d)
            ranges = None
            quantized = isinstance(storage, faiss.IndexScalarQuantizer)
            if isinstance(storage, faiss.IndexFlat):
                dtype: Any = np.float32
            elif quantized and storage.sq.qtype == faiss.ScalarQuantizer.QT_fp16:
                dtype = np.float16
            elif quantized and storage.sq.qtype == faiss.ScalarQuantizer.QT_8bit:
                dtype = np.uint8
                ranges = faiss.vector_to_array(storage.sq.trained).astype(np.float32).reshape(2, dim)
            else:
                return None
            n = int(storage.ntotal)
            if not n or int(storage.code_size) != dim * np.dtype(dtype).itemsize:
                return None
            codes = faiss.rev_swig_ptr(storage.codes.data(), n * int(storage.code_size))
            id_map = faiss.rev_swig_ptr(index.id_map.data(), int(index.id_map.size()))
        except (AttributeError, TypeError):
            return None
        if len(id_map) != n:
            return None
        row_of = None
        if n > 1 and not bool(np.all(id_map[1:] > id_map[:-1])):
            row_of = np.full(int(id_map.max()) + 1, -1, dtype=np.int64)
            row_of[id_map] = np.arange(n)
            if int(np.count_nonzero(row_of >= 0)) != n:  # an id added twice: leave it to FAISS
                return None
        return cls(codes.view(dtype).reshape(n, dim), id_map, ranges, row_of)

    def _positions(self, ids: np.ndarray) -> np.ndarray:
        """Rows of the code table holding these external ids (KeyError for an id never added)."""
        if self._row_of is not None:
            if len(ids) and (int(ids.min()) < 0 or int(ids.max()) >= len(self._row_of)):
                raise KeyError("id not in the index")
            found: np.ndarray = self._row_of[ids]
            if len(found) and int(found.min()) < 0:
                raise KeyError("id not in the index")
            return found
        rows = ids if self._identity else np.searchsorted(self._id_map, ids)
        if len(rows) and (int(rows.min()) < 0 or int(rows.max()) >= len(self._id_map)):
            raise KeyError("id not in the index")
        if not self._identity and not np.array_equal(self._id_map[rows], ids):
            raise KeyError("id not in the index")
        return rows

    def similarities_many(self, ids: np.ndarray, queries: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Inner products of each query with the vectors of these ids (gathered once); 8-bit codes are not
        decoded: with s = range * query / 255, x . query = min . query + (codes + 0.5) . s (the same within
        float32 rounding)."""
        if self._ranges is None:
            rows = self.rows(ids)
            return [rows @ query for query in queries]
        low, span = self._ranges
        codes = self._table[self._positions(ids)].astype(np.float32)
        out = []
        for query in queries:
            scaled = span * query / np.float32(255.0)
            offset = np.float32(low @ query + np.float32(0.5) * scaled.sum())
            out.append(codes @ scaled + offset)
        return out

    def rows(self, ids: np.ndarray) -> np.ndarray:
        """The float32 vectors of these external ids (KeyError for an id never added)."""
        rows = self._positions(ids)
        if self._ranges is None:
            out: np.ndarray = self._table[rows].astype(np.float32)
            return out
        # FAISS' 8-bit decode, min + (code + 0.5) / 255 * range, with its fused multiply-add: the float32 product
        # is exact in float64, so one rounding after the add gives its values bit for bit
        share = (self._table[rows].astype(np.float32) + np.float32(0.5)) / np.float32(255.0)
        low, span = self._ranges
        decoded: np.ndarray = (share.astype(np.float64) * span + low).astype(np.float32)
        return decoded
