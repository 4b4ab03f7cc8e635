"""The embedding port, a deterministic fake for tests, and wrappers that cache and batch any embedder."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import Future
from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors of a fixed dimension."""

    @property
    def name(self) -> str: ...

    @property
    def dimension(self) -> int: ...

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


def normalize_rows(matrix: np.ndarray) -> np.ndarray:
    """L2-normalise each row (zero rows stay zero) as float32."""
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    normalized: np.ndarray = matrix / norms
    return normalized


class HashingEmbedder:
    """Deterministic fake: hashed character n-grams, so similar strings get similar vectors."""

    def __init__(self, dimension: int = 128, name: str = "hashing-fake") -> None:
        self._dimension = dimension
        self._name = name
        self.calls = 0

    @property
    def name(self) -> str:
        return self._name

    @property
    def dimension(self) -> int:
        return self._dimension

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        out = np.zeros((len(texts), self._dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            lowered = text.lower()
            for n in (1, 2, 3):
                for i in range(max(len(lowered) - n + 1, 0)):
                    digest = hashlib.blake2b(lowered[i : i + n].encode(), digest_size=8).digest()
                    bucket = int.from_bytes(digest[:4], "little") % self._dimension
                    sign = 1.0 if digest[4] & 1 else -1.0
                    out[row, bucket] += sign * n
        return normalize_rows(out)


class CachingEmbedder:
    """An LRU cache in front of another embedder; repeated texts (FAQ titles, quick replies) cost nothing."""

    def __init__(self, inner: Embedder, max_entries: int = 10_000) -> None:
        self._inner = inner
        self._max = max_entries
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self._inner.name

    @property
    def dimension(self) -> int:
        return self._inner.dimension

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        result: list[np.ndarray | None] = []
        missing: list[str] = []
        with self._lock:
            for text in texts:
                vector = self._cache.get(text)
                if vector is not None:
                    self._cache.move_to_end(text)
                else:
                    missing.append(text)
                result.append(vector)
        if missing:
            unique = list(dict.fromkeys(missing))
            fresh = dict(zip(unique, self._inner.embed(unique), strict=True))
            with self._lock:
                for text, vector in fresh.items():
                    self._cache[text] = vector
                    if len(self._cache) > self._max:
                        self._cache.popitem(last=False)
            result = [fresh[t] if v is None else v for t, v in zip(texts, result, strict=True)]
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([v for v in result if v is not None]).astype(np.float32, copy=False)


class BatchingEmbedder:
    """Coalesces concurrent `embed` calls from many threads into one model call (micro-batching).

    The first caller to arrive while the model is idle becomes the leader and runs a batch holding
    every request queued so far; callers arriving meanwhile wait for the next batch. No timer is
    involved, so a lone request pays no extra latency.
    """

    def __init__(self, inner: Embedder, max_batch: int = 64) -> None:
        self._inner = inner
        self._max_batch = max_batch
        self._lock = threading.Lock()
        self._pending: list[tuple[list[str], Future[np.ndarray]]] = []
        self._busy = False

    @property
    def name(self) -> str:
        return self._inner.name

    @property
    def dimension(self) -> int:
        return self._inner.dimension

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        future: Future[np.ndarray] = Future()
        with self._lock:
            self._pending.append((list(texts), future))
            lead = not self._busy
            if lead:
                self._busy = True
        if lead:
            self._drain()
        return future.result()

    def _drain(self) -> None:
        while True:
            with self._lock:
                if not self._pending:
                    self._busy = False
                    return
                batch: list[tuple[list[str], Future[np.ndarray]]] = []
                size = 0
                while self._pending and (not batch or size + len(self._pending[0][0]) <= self._max_batch):
                    item = self._pending.pop(0)
                    batch.append(item)
                    size += len(item[0])
            flat = [text for texts, _ in batch for text in texts]
            try:
                vectors = self._inner.embed(flat)
            except BaseException as exc:  # hand the failure to every waiter, then keep serving
                for _, fut in batch:
                    fut.set_exception(exc)
                continue
            start = 0
            for texts, fut in batch:
                fut.set_result(vectors[start : start + len(texts)])
                start += len(texts)
