"""Lexical features for intents: TF-IDF over character n-grams, jieba words and pinyin (pure numpy/scipy)."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from assistant.text import normalize, pinyin_tokens, words_cached


def char_tokens(text: str) -> list[str]:
    """Character 1-4-grams inside each space-separated chunk (padded), so Chinese gets char 1-3-grams and more."""
    grams: list[str] = []
    for chunk in normalize(text).split(" "):
        padded = f" {chunk} "
        for n in (1, 2, 3, 4):
            grams.extend(padded[i : i + n] for i in range(len(padded) - n + 1))
    return [g for g in grams if g.strip()]


def word_tokens(text: str) -> list[str]:
    """Word unigrams and bigrams (jieba for Chinese runs, alphanumeric words for Latin text)."""
    tokens = list(words_cached(normalize(text)))
    return tokens + [f"{a} {b}" for a, b in itertools.pairwise(tokens)]


ANALYZERS: dict[str, Callable[[str], list[str]]] = {
    "char": char_tokens,
    "word": word_tokens,
    "pinyin": pinyin_tokens,
}


@dataclass
class TfidfBlock:
    """One TF-IDF feature block: vocabulary, idf weights, and the weight of the block in the feature vector."""

    analyzer: str
    vocabulary: dict[str, int]
    idf: np.ndarray
    weight: float = 1.0

    @classmethod
    def fit(cls, analyzer: str, tokenized: Sequence[list[str]], min_df: int, weight: float) -> TfidfBlock:
        """Learn the vocabulary (terms in at least `min_df` texts) and smoothed idf."""
        df: Counter[str] = Counter()
        for tokens in tokenized:
            df.update(set(tokens))
        terms = sorted(t for t, c in df.items() if c >= min_df)
        n = len(tokenized)
        idf = np.array([np.log((1 + n) / (1 + df[t])) + 1.0 for t in terms], dtype=np.float32)
        return cls(analyzer, {t: i for i, t in enumerate(terms)}, idf, weight)

    def rows(self, tokenized: Sequence[list[str]]) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per text, the (columns, values) of its row: sublinear tf × idf, L2-normalised, times the block weight."""
        out = []
        for tokens in tokenized:
            counts = Counter(self.vocabulary[t] for t in tokens if t in self.vocabulary)
            cols = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
            tf = 1.0 + np.log(np.fromiter(counts.values(), dtype=np.float32, count=len(counts)))
            row = tf * self.idf[cols]
            norm = float(np.linalg.norm(row))
            if norm > 0:
                row *= self.weight / norm
            out.append((cols, row))
        return out

    def transform(self, tokenized: Sequence[list[str]]) -> sparse.csr_matrix:
        """The rows as a sparse matrix."""
        return _csr([[row] for row in self.rows(tokenized)], len(self.vocabulary))


@dataclass
class Featurizer:
    """Concatenates the weighted sentence embedding with the lexical TF-IDF blocks."""

    blocks: list[TfidfBlock]
    embedding_weight: float

    @classmethod
    def fit(cls, texts: Sequence[str], config: dict[str, dict[str, float]], embedding_weight: float) -> Featurizer:
        """Fit every configured block (`{"char": {"min_df": 2, "weight": 1.0}, ...}`) on the training texts."""
        blocks = []
        for name, options in config.items():
            tokenized = [ANALYZERS[name](t) for t in texts]
            blocks.append(
                TfidfBlock.fit(name, tokenized, int(options.get("min_df", 1)), float(options.get("weight", 1.0)))
            )
        return cls(blocks, embedding_weight)

    @property
    def width(self) -> int:
        """Number of lexical columns (the embedding columns come first and are not counted)."""
        return sum(len(b.vocabulary) for b in self.blocks)

    def lexical(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """The lexical part of the features."""
        return _csr(self._lexical_rows(texts), self.width)

    def transform(self, texts: Sequence[str], vectors: np.ndarray) -> sparse.csr_matrix:
        """Full feature matrix: [embedding_weight × embedding | lexical blocks]."""
        dense = np.asarray(vectors, dtype=np.float32) * self.embedding_weight
        dense = dense.reshape(len(texts), -1)
        lexical = self._lexical_rows(texts, offset=dense.shape[1])
        # One matrix built from its parts: the stacked blocks used to cost more than the tokenising. The nonzeros
        # keep the order a horizontal stack gives them, so the products (and scores) are the same to the bit.
        parts = []
        for row, rest in zip(dense, lexical, strict=True):
            kept = np.flatnonzero(row)
            parts.append([(kept, row[kept]), *rest])
        return _csr(parts, dense.shape[1] + self.width)

    def _lexical_rows(self, texts: Sequence[str], offset: int = 0) -> list[list[tuple[np.ndarray, np.ndarray]]]:
        """Per text, the (columns, values) of each block, columns shifted to the block's place."""
        out: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in texts]
        for block in self.blocks:
            for parts, (cols, values) in zip(
                out, block.rows([ANALYZERS[block.analyzer](t) for t in texts]), strict=True
            ):
                parts.append((cols + offset, values))
            offset += len(block.vocabulary)
        return out


def _csr(parts: Sequence[Sequence[tuple[np.ndarray, np.ndarray]]], width: int) -> sparse.csr_matrix:
    """A float32 CSR matrix from, per row, (columns, values) pieces laid side by side in order."""
    indptr = np.zeros(len(parts) + 1, dtype=np.int64)
    indptr[1:] = np.cumsum([sum(len(cols) for cols, _ in row) for row in parts])
    pieces = [piece for row in parts for piece in row]
    indices = np.concatenate([c for c, _ in pieces]) if pieces else np.zeros(0, np.int64)
    values = np.concatenate([v for _, v in pieces]).astype(np.float32) if pieces else np.zeros(0, np.float32)
    return sparse.csr_matrix((values, indices, indptr), shape=(len(parts), width))
