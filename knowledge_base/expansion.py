"""Query expansion by meaning: a query word also matches FAQ words whose English glosses embed nearby.

Users rarely type the FAQ's words (把钱要回来 for 退款, 好处 for 权益). Each content word of the FAQ gets one vector:
the embedding of its dictionary gloss (assistant.gloss). A query word then brings in the FAQ words within
`MIN_SIMILARITY`, weighted by similarity, as extra BM25 terms of a "soft" channel over the words index.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from assistant.embedding import normalize_rows
from knowledge_base.analysis import gloss

SOFT_CHANNEL = "soft"
MIN_SIMILARITY = 0.6  # below this, glosses of unrelated words still look alike (measured on the dev sets)
PER_WORD = 3  # FAQ words brought in per query word


def word_gloss(word: str) -> str:
    """The text embedded for one word: its gloss, or the word itself when the dictionary has nothing."""
    return gloss(word) or word


@dataclass(frozen=True)
class WordVectors:
    """One normalised gloss vector per FAQ content word."""

    words: tuple[str, ...]
    matrix: np.ndarray  # (len(words), dimension), float32, L2-normalised
    row: Mapping[str, int] = field(default_factory=dict)
    # neighbours of table words, filled on first use (read-only once stored; see `neighbours`)
    _near: dict[str, Mapping[str, float]] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def create(cls, words: Sequence[str], matrix: np.ndarray) -> WordVectors:
        """Vectors for `words` (rows of `matrix`)."""
        return cls(tuple(words), matrix.astype(np.float32), {w: i for i, w in enumerate(words)})

    def missing(self, words: Iterable[str]) -> list[str]:
        """The distinct words that have no vector yet."""
        return [w for w in dict.fromkeys(words) if w not in self.row]

    def with_vectors(self, words: Sequence[str], vectors: np.ndarray) -> WordVectors:
        """A new table with these words added (already known words are skipped)."""
        fresh = [i for i, w in enumerate(words) if w not in self.row]
        if not fresh:
            return self
        added = normalize_rows(np.asarray(vectors, dtype=np.float32)[fresh])
        matrix = np.vstack([self.matrix, added]) if len(self.words) else added
        return WordVectors.create([*self.words, *(words[i] for i in fresh)], matrix)

    def expand(self, words: Sequence[str], extra: Mapping[str, np.ndarray]) -> dict[str, float]:
        """FAQ words near each query word, with their similarity (the best over query words).

        `extra` holds vectors of query words the table lacks; words with no vector are left out.
        """
        return merge_neighbours(self.neighbours(words, extra))

    def neighbours(
        self,
        words: Sequence[str],
        extra: Mapping[str, np.ndarray],
        seen: dict[str, Mapping[str, float]] | None = None,
    ) -> list[Mapping[str, float]]:
        """Per query word, the FAQ words within `MIN_SIMILARITY` of it (at most `PER_WORD`), with similarity.

        A table word's neighbours depend on the table alone: they are found once and kept (the table is
        immutable and holds as many words as the cache can), so a query pays only for words new to it.
        `seen` keeps those of words new to the table for the caller's next views with the same `extra`
        (a follow-up's three views share the query's words: one product with the table per word, not three).
        """
        out: list[Mapping[str, float]] = []
        for word in words:
            cached = self._near.get(word)
            if cached is None and seen is not None:
                cached = seen.get(word)
            if cached is None:
                vector = self.matrix[self.row[word]] if word in self.row else extra.get(word)
                cached = self._nearest(vector) if vector is not None else {}
                if word in self.row:
                    self._near[word] = cached
                elif seen is not None:
                    seen[word] = cached
            out.append(cached)
        return out

    def _nearest(self, vector: np.ndarray) -> dict[str, float]:
        """The FAQ words within `MIN_SIMILARITY` of one vector, best first (at most `PER_WORD`)."""
        if not len(self.words):
            return {}
        # one matrix-vector product per word: a word's similarities never depend on the query's other words
        sims = self.matrix @ np.asarray(vector, dtype=np.float32)
        if len(sims) > PER_WORD:  # the best few of thousands: partition, then order only those
            part = np.argpartition(-sims, PER_WORD - 1)[:PER_WORD]
            top = part[np.argsort(-sims[part])]
        else:
            top = np.argsort(-sims)
        near: dict[str, float] = {}
        for column in top.tolist():
            sim = float(sims[column])
            if sim < MIN_SIMILARITY:
                break
            near[self.words[column]] = min(sim, 1.0)
        return near

    def save(self, path: Path) -> None:
        """Write the vectors (.npy) and the words (.json)."""
        np.save(path.with_suffix(".npy"), self.matrix)
        path.with_suffix(".json").write_text(json.dumps(list(self.words), ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> WordVectors:
        """Read a table written by `save`."""
        words = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        return cls.create(words, np.load(path.with_suffix(".npy")))


def merge_neighbours(neighbours: Iterable[Mapping[str, float]]) -> dict[str, float]:
    """FAQ words near any of the query words, each with its best similarity."""
    out: dict[str, float] = {}
    for near in neighbours:
        for word, sim in near.items():
            out[word] = max(out.get(word, 0.0), sim)
    return out


def empty_word_vectors(dimension: int) -> WordVectors:
    """A table with no words."""
    return WordVectors.create([], np.zeros((0, dimension), dtype=np.float32))
