"""The embedding port, a deterministic fake for tests, and wrappers that cache and batch any embedder."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict, deque
from collections.abc import Sequence
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


def embed_all(embedder: Embedder, texts: Sequence[str], batch: int = 64) -> np.ndarray:
    """Embed many texts in length-sorted batches (less padding, so much faster on long lists)."""
    if not texts:
        return np.zeros((0, embedder.dimension), dtype=np.float32)
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    out = np.zeros((len(texts), embedder.dimension), dtype=np.float32)
    for start in range(0, len(order), batch):
        idx = order[start : start + batch]
        out[idx] = embedder.embed([texts[i] for i in idx])
    return out


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


class WrappedEmbedder:
    """Base of an embedder in front of another: it answers to the wrapped model's name and dimension."""

    def __init__(self, inner: Embedder) -> None:
        self._inner = inner

    @property
    def name(self) -> str:
        return self._inner.name

    @property
    def dimension(self) -> int:
        return self._inner.dimension

    @property
    def inner(self) -> Embedder:
        """The wrapped embedder."""
        return self._inner


class RecordingEmbedder(WrappedEmbedder):
    """Another embedder, recording the texts of each call: how benchmarks and tests count model calls."""

    def __init__(self, inner: Embedder) -> None:
        super().__init__(inner)
        self.calls: list[list[str]] = []

    @property
    def texts(self) -> list[str]:
        """Every text embedded so far, in call order."""
        return [text for call in self.calls for text in call]

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(list(texts))
        return self._inner.embed(texts)


class CachingEmbedder(WrappedEmbedder):
    """An LRU cache in front of another embedder; repeated texts (FAQ titles, quick replies) cost nothing."""

    def __init__(self, inner: Embedder, max_entries: int = 10_000) -> None:
        super().__init__(inner)
        self._max = max_entries
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

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
            self.hits += len(texts) - len(missing)
            self.misses += len(missing)
        if missing:
            unique = list(dict.fromkeys(missing))
            # Copies, so a cached row never keeps a whole batch's matrix alive.
            fresh = {text: row.copy() for text, row in zip(unique, self._inner.embed(unique), strict=True)}
            with self._lock:
                for text, vector in fresh.items():
                    self._cache[text] = vector
                    if len(self._cache) > self._max:
                        self._cache.popitem(last=False)
            result = [fresh[t] if v is None else v for t, v in zip(texts, result, strict=True)]
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([v for v in result if v is not None]).astype(np.float32, copy=False)


class _Request:
    """One caller's texts; `wake` is set when its vectors (or the failure) are in, or when it is to lead."""

    __slots__ = ("error", "finished", "texts", "vectors", "wake")

    def __init__(self, texts: list[str]) -> None:
        self.texts = texts
        self.vectors: np.ndarray | None = None
        self.error: BaseException | None = None
        self.finished = False
        self.wake = threading.Event()


class BatchingEmbedder(WrappedEmbedder):
    """Coalesces concurrent `embed` calls from many threads into one model call (micro-batching).

    A caller arriving while the model is idle becomes the leader and runs everything queued so far, its own
    texts included; callers arriving meanwhile queue for the next batch. Once its own vectors are in, the leader
    hands the lead to the oldest waiting caller, so nobody serves others' batches indefinitely. No timer and no
    extra thread: a lone request pays nothing.
    """

    def __init__(self, inner: Embedder, max_batch: int = 64) -> None:
        super().__init__(inner)
        self._max_batch = max_batch
        self._lock = threading.Lock()
        self._pending: deque[_Request] = deque()
        self._busy = False
        self._closed = False
        self.batches = 0
        self.batched_texts = 0
        self.largest_batch = 0

    @property
    def queued(self) -> int:
        """Requests waiting for the model (not counting the batch it is running)."""
        with self._lock:
            return len(self._pending)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        request = _Request(list(texts))
        with self._lock:
            if self._closed:
                raise RuntimeError("the batching embedder is closed")
            self._pending.append(request)
            lead = not self._busy
            self._busy = True
        if not lead:
            request.wake.wait()
        if not request.finished:  # idle on arrival, or handed the lead by the previous leader
            self._lead(request)
        if request.error is not None:
            raise request.error
        assert request.vectors is not None
        return request.vectors

    def close(self) -> None:
        """Refuse new requests (those already queued are still answered)."""
        with self._lock:
            self._closed = True

    def _lead(self, own: _Request) -> None:
        while not own.finished:
            self._run(self._take())
        with self._lock:
            if self._pending:
                self._pending[0].wake.set()  # not finished, so it wakes up to lead
            else:
                self._busy = False

    def _take(self) -> list[_Request]:
        with self._lock:
            batch = [self._pending.popleft()]
            size = len(batch[0].texts)
            while self._pending and size + len(self._pending[0].texts) <= self._max_batch:
                size += len(self._pending[0].texts)
                batch.append(self._pending.popleft())
            return batch

    def _run(self, batch: list[_Request]) -> None:
        flat = [text for request in batch for text in request.texts]
        self.batches += 1
        self.batched_texts += len(flat)
        self.largest_batch = max(self.largest_batch, len(flat))
        try:
            vectors = self._inner.embed(flat)
        except BaseException as exc:  # hand the failure to every caller of the batch; the next batch may work
            vectors = None
            for request in batch:
                request.error = exc
        start = 0
        for request in batch:
            if vectors is not None:
                request.vectors = vectors[start : start + len(request.texts)]
                start += len(request.texts)
            request.finished = True
            request.wake.set()


def embedding_stats(embedder: Embedder) -> dict[str, int]:
    """Counters of the cache and batching wrappers around an embedder (zeros for the ones it lacks)."""
    stats = {"cache_hits": 0, "cache_misses": 0, "batches": 0, "batched_texts": 0, "largest_batch": 0}
    current: object = embedder
    for _ in range(8):  # wrappers nest a few levels at most; the bound guards against a cycle
        if isinstance(current, CachingEmbedder):
            stats["cache_hits"] += current.hits
            stats["cache_misses"] += current.misses
        elif isinstance(current, BatchingEmbedder):
            stats["batches"] += current.batches
            stats["batched_texts"] += current.batched_texts
            stats["largest_batch"] = max(stats["largest_batch"], current.largest_batch)
        current = getattr(current, "inner", None)
        if current is None:
            break
    return stats
