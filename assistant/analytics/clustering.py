"""Grouping unanswered questions that mean the same thing, in Chinese and English.

Similarity of two questions: cosine of sublinear TF-IDF vectors over the knowledge base's lexical analysis
(jieba content words without stop words, zh/en synonym groups, light English stemming), blended with the
embedding cosine for pairs of Latin-script texts only: the bundled model is English-only, and on Chinese its
cosine barely separates topics (it lowered BCubed F1 on the dev split). Average-linkage agglomerative clustering
is cut where the average similarity falls below a threshold chosen on a labelled dev split
(`python -m evals.gap_eval`), never on the test set.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from assistant.embedding import Embedder
from assistant.text import has_cjk


@dataclass(frozen=True)
class ClusterConfig:
    """How similar questions must be on average to share a cluster, and the embedding's share for English."""

    threshold: float
    latin_embedding_weight: float = 0.0
    latin_baseline: float = 0.0


# Chosen on evals/data/gap_dev.csv (grid of weight x threshold, best BCubed F1): see evals/reports/gap_eval.md.
DEFAULT_CONFIG = ClusterConfig(threshold=0.075, latin_embedding_weight=0.6, latin_baseline=0.2)
# Without an embedder (HTTP tests, a store-only CLI run): the threshold chosen the same way for weight 0.
LEXICAL_CONFIG = ClusterConfig(threshold=0.075)


def content_words(text: str) -> list[str]:
    """The knowledge base's content words of a text (no stop words, synonyms folded, English stemmed), without
    question words: they help retrieval tell 多久 from 多少, but say nothing about a question's topic."""
    from knowledge_base.analysis import QUESTION_WORDS, analyze

    return [w for w in analyze(text).words if w not in QUESTION_WORDS]


def lexical_similarity(texts: Sequence[str]) -> np.ndarray:
    """Cosine similarity of sublinear TF-IDF vectors of the texts' content words (IDF from the texts)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    if not texts:
        return np.zeros((0, 0), dtype=np.float32)
    vectorizer = TfidfVectorizer(analyzer=content_words, sublinear_tf=True, norm="l2")
    try:
        matrix = vectorizer.fit_transform(list(texts))
    except ValueError:  # no text has a content word (only stop words, punctuation or emoji)
        return np.eye(len(texts), dtype=np.float32)
    sim = np.asarray((matrix @ matrix.T).toarray(), dtype=np.float32)
    np.fill_diagonal(sim, 1.0)
    return sim


def similarity(texts: Sequence[str], embedder: Embedder | None, config: ClusterConfig) -> np.ndarray:
    """The blended similarity matrix (the embedding counts only between two Latin-script texts)."""
    sim = lexical_similarity(texts)
    latin = np.array([not has_cjk(t) for t in texts], dtype=bool)
    weight, baseline = config.latin_embedding_weight, config.latin_baseline
    if embedder is None or weight <= 0 or latin.sum() < 2:
        return sim
    rows = np.flatnonzero(latin)
    vectors = np.asarray(embedder.embed([texts[int(i)] for i in rows]), dtype=np.float32)
    dense = (vectors @ vectors.T - baseline) / (1.0 - baseline)
    block = np.ix_(rows, rows)
    sim[block] = weight * dense + (1.0 - weight) * sim[block]
    np.fill_diagonal(sim, 1.0)
    return sim


def cluster_matrix(sim: np.ndarray, threshold: float) -> list[list[int]]:
    """Average-linkage clusters whose members are on average at least `threshold` similar; biggest first."""
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform

    n = sim.shape[0]
    if n < 2:
        return [[0]] if n else []
    distance = np.clip(1.0 - sim.astype(np.float64), 0.0, 2.0)
    distance = (distance + distance.T) / 2.0
    np.fill_diagonal(distance, 0.0)
    tree = linkage(squareform(distance, checks=False), method="average")
    labels = fcluster(tree, t=1.0 - threshold, criterion="distance")
    groups: dict[int, list[int]] = {}
    for index, label in enumerate(labels):
        groups.setdefault(int(label), []).append(index)
    return sorted(groups.values(), key=lambda g: (-len(g), g[0]))


def default_config(embedder: Embedder | None) -> ClusterConfig:
    """The dev-chosen configuration for the features at hand."""
    return DEFAULT_CONFIG if embedder is not None else LEXICAL_CONFIG


def cluster_texts(
    texts: Sequence[str], embedder: Embedder | None, config: ClusterConfig | None = None
) -> list[list[int]]:
    """Indices of `texts` grouped by meaning, biggest group first (lexical only when there is no embedder)."""
    chosen = config or default_config(embedder)
    return cluster_matrix(similarity(texts, embedder, chosen), chosen.threshold)


def medoid(sim: np.ndarray, members: Sequence[int], weights: Sequence[float] | None = None) -> int:
    """The member most similar on average to the others (weighted by how often each was asked)."""
    idx = np.asarray(members)
    block = sim[np.ix_(idx, idx)]
    w = np.ones(len(idx)) if weights is None else np.asarray(weights, dtype=np.float64)
    return int(idx[int(np.argmax(block @ w))])
