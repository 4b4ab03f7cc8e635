"""Calibrated score fusion: logistic regression over candidate features, and the `answerable` threshold."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

FOLDS = 3
REGULARISATION = 1.0


@dataclass(frozen=True)
class TrainingSet:
    """Candidate rows of many probe queries: features, whether each row is the right entry, and probe facts."""

    matrix: np.ndarray  # (rows, features)
    labels: np.ndarray  # (rows,) bool
    probe: np.ndarray  # (rows,) index of the probe each row belongs to
    groups: np.ndarray  # (probes,) cross-validation group (an entry, or an out-of-scope line)
    in_scope: np.ndarray  # (probes,) bool: the probe has a right answer in the knowledge base


@dataclass(frozen=True)
class FusionModel:
    """Standardised logistic regression giving P(this entry answers the query), plus its threshold."""

    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    threshold: float
    metrics: Mapping[str, float] = field(default_factory=dict)

    def predict(self, matrix: np.ndarray) -> np.ndarray:
        """Probability per row (numpy only, so serving never imports scikit-learn)."""
        if not len(matrix):
            return np.zeros(0)
        z = ((matrix - self.mean) / self.scale) @ self.coef + self.intercept
        out: np.ndarray = 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))
        return out

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "features": list(self.features),
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "coef": self.coef.tolist(),
            "intercept": self.intercept,
            "threshold": self.threshold,
            "metrics": dict(self.metrics),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FusionModel:
        """Inverse of `to_json`."""
        return cls(
            tuple(data["features"]),
            np.asarray(data["mean"], dtype=np.float64),
            np.asarray(data["scale"], dtype=np.float64),
            np.asarray(data["coef"], dtype=np.float64),
            float(data["intercept"]),
            float(data["threshold"]),
            dict(data.get("metrics", {})),
        )


def _fit(matrix: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    from sklearn.linear_model import LogisticRegression

    mean = matrix.mean(axis=0)
    scale = matrix.std(axis=0)
    scale[scale < 1e-6] = 1.0
    model = LogisticRegression(C=REGULARISATION, max_iter=2000)
    model.fit((matrix - mean) / scale, labels.astype(int))
    return mean, scale, model.coef_[0].astype(np.float64), float(model.intercept_[0])


def top_per_probe(probs: np.ndarray, data: TrainingSet, n_probes: int) -> tuple[np.ndarray, np.ndarray]:
    """Best probability per probe and whether that best row is the right entry."""
    top_p = np.zeros(n_probes)
    top_ok = np.zeros(n_probes, dtype=bool)
    order = np.lexsort((probs, data.probe))
    last = np.r_[data.probe[order][1:] != data.probe[order][:-1], True]
    rows = order[last]
    top_p[data.probe[rows]] = probs[rows]
    top_ok[data.probe[rows]] = data.labels[rows]
    return top_p, top_ok


def choose_threshold(top_p: np.ndarray, top_ok: np.ndarray, in_scope: np.ndarray) -> tuple[float, dict[str, float]]:
    """The threshold maximising F1 of correct answers, with out-of-scope probes weighted like in-scope ones.

    Precision counts wrong answers to in-scope questions and (re-weighted) answers to out-of-scope ones.
    """
    n_in = max(int(in_scope.sum()), 1)
    n_out = int((~in_scope).sum())
    oos_weight = n_in / n_out if n_out else 0.0
    candidates = np.unique(np.r_[top_p, 1.0])
    best_t, best_f1 = 0.5, -1.0
    scores: list[tuple[float, float]] = []
    for t in candidates:
        answered = top_p >= t
        correct = float((answered & top_ok & in_scope).sum())
        wrong = float((answered & ~top_ok & in_scope).sum()) + oos_weight * float((answered & ~in_scope).sum())
        precision = correct / (correct + wrong) if correct + wrong else 0.0
        recall = correct / n_in
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        scores.append((float(t), f1))
        if f1 > best_f1:
            best_f1 = f1
    # the middle of the best plateau: robust to the exact probe sample
    plateau = [t for t, f1 in scores if f1 >= best_f1 - 1e-9]
    best_t = float(np.median(plateau))
    answered = top_p >= best_t
    metrics = {
        "f1": best_f1,
        "top1": float((top_ok & in_scope).sum()) / n_in,
        "answered_correct": float((answered & top_ok & in_scope).sum()) / n_in,
        "oos_rejected": float((~answered & ~in_scope).sum()) / n_out if n_out else 1.0,
        "probes_in_scope": float(n_in),
        "probes_out_of_scope": float(n_out),
    }
    return best_t, metrics


def train_fusion(data: TrainingSet, features: tuple[str, ...], folds: int = FOLDS) -> FusionModel:
    """Fit the fusion model; the threshold comes from out-of-fold predictions (grouped by entry)."""
    n_probes = len(data.groups)
    fold_of_group = {g: i % folds for i, g in enumerate(np.unique(data.groups))}
    probe_fold = np.asarray([fold_of_group[g] for g in data.groups])
    row_fold = probe_fold[data.probe]
    oof = np.zeros(len(data.labels))
    for fold in range(folds):
        train, test = row_fold != fold, row_fold == fold
        if not test.any() or len(np.unique(data.labels[train])) < 2:
            continue
        mean, scale, coef, intercept = _fit(data.matrix[train], data.labels[train])
        z = ((data.matrix[test] - mean) / scale) @ coef + intercept
        oof[test] = 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))
    top_p, top_ok = top_per_probe(oof, data, n_probes)
    threshold, metrics = choose_threshold(top_p, top_ok, data.in_scope)
    mean, scale, coef, intercept = _fit(data.matrix, data.labels)
    return FusionModel(features, mean, scale, coef, intercept, threshold, metrics)
