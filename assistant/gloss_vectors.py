"""Vectors of common words' English glosses, embedded once per model and kept beside it on disk.

A query's words that the FAQ lacks are embedded through their dictionary gloss for the soft expansion channel
(knowledge_base/expansion.py): about one word per query, a fifth of its model cost. Most of them are ordinary
words, so the glosses of the dictionary's most frequent words are embedded once (the first start) and served
from a table: the same vectors the model gives (a text's fp32 vector does not depend on the texts batched with
it), without the model run.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from assistant.embedding import Embedder, WrappedEmbedder
from assistant.gloss import english_gloss
from assistant.text import _get_jieba, has_cjk

log = logging.getLogger(__name__)

DEFAULT_WORDS = 20_000  # measured (bench.embed_bench): serves 0.49 of the 1.08 word glosses a dev query embeds
BUILD_BATCH = 64
TABLE_VERSION = 1  # bump when the texts `common_word_glosses` lists change


def common_word_glosses(limit: int) -> list[str]:
    """The distinct texts the KB embeds for the `limit` most frequent Chinese words of jieba's dictionary."""
    freq: dict[str, int] = _get_jieba().FREQ
    ranked = sorted((w for w, f in freq.items() if f > 0 and has_cjk(w)), key=lambda w: (-freq[w], w))
    # knowledge_base.expansion.word_gloss: the gloss, or the word itself when the dictionary has nothing
    texts = (english_gloss(word) or word for word in ranked[:limit])
    return list(dict.fromkeys(texts))


class PrecomputedEmbedder(WrappedEmbedder):
    """Serves a fixed list of texts from a table embedded once per model (kept in `directory`); the rest
    goes to the model. Loaded read-only and memory-mapped, so worker processes share one copy."""

    def __init__(self, inner: Embedder, directory: Path, words: int = DEFAULT_WORDS) -> None:
        super().__init__(inner)
        self._directory = directory
        self._words = words
        self._row: dict[str, int] = {}
        self._matrix: np.ndarray | None = None
        self._lock = threading.Lock()
        self._ready = False
        self.served = 0

    @property
    def texts(self) -> list[str]:
        """The texts the table serves (none before `warm_up`)."""
        return list(self._row)

    def warm_up(self) -> None:
        """Load the model, then the table (embedding and saving it first if this model has none yet)."""
        warm_up: Any = getattr(self._inner, "warm_up", None)
        if warm_up is not None:
            warm_up()
        with self._lock:
            if self._ready:
                return
            if self._words > 0:
                texts, self._matrix = self._load_or_build()
                self._row = {text: i for i, text in enumerate(texts)}
            self._ready = True

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not self._ready:
            self.warm_up()
        rows = [self._row.get(text, -1) for text in texts]
        missing = [i for i, row in enumerate(rows) if row < 0]
        if len(missing) == len(texts):
            return self._inner.embed(texts)
        self.served += len(texts) - len(missing)
        assert self._matrix is not None
        out = np.empty((len(texts), self._matrix.shape[1]), dtype=np.float32)
        known = [i for i, row in enumerate(rows) if row >= 0]
        out[known] = self._matrix[[rows[i] for i in known]]
        if missing:
            out[missing] = self._inner.embed([texts[i] for i in missing])
        return out

    def _load_or_build(self) -> tuple[list[str], np.ndarray]:
        # Named after the model and the word count; the texts are stored too, since listing them takes seconds.
        # Any text -> vector pair is exact whatever produced the list, so a stale list only costs hits.
        key = json.dumps([self._inner.name, self._words, TABLE_VERSION])
        stem = self._directory / f"glosses-{hashlib.sha256(key.encode()).hexdigest()[:16]}"
        vectors, names = stem.with_suffix(".npy"), stem.with_suffix(".json")
        if not (vectors.exists() and names.exists()):
            texts = common_word_glosses(self._words)
            log.info("embedding common word glosses once", extra={"texts": len(texts), "path": str(vectors)})
            matrix = np.vstack(
                [self._inner.embed(texts[i : i + BUILD_BATCH]) for i in range(0, len(texts), BUILD_BATCH)]
            ).astype(np.float32)
            self._directory.mkdir(parents=True, exist_ok=True)
            # Written under temporary names and renamed, vectors last: processes building at once each write
            # whole files, and a reader never sees vectors without their texts.
            tmp = stem.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")
            tmp.replace(names)
            with open(tmp, "wb") as handle:
                np.save(handle, matrix)
            tmp.replace(vectors)
        texts = json.loads(names.read_text(encoding="utf-8"))
        matrix = np.load(vectors, mmap_mode="r")
        if matrix.shape != (len(texts), self._inner.dimension):
            raise ValueError(f"{vectors} holds {matrix.shape}, expected {(len(texts), self._inner.dimension)} vectors")
        return texts, matrix
