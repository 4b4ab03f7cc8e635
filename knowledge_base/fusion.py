"""Calibrated score fusion: logistic regression over candidate features, and the `answerable` threshold."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from assistant.errors import ConfigError

FOLDS = 3
REGULARISATION = 1.0
# The answerability gate's inputs beside the row probability: how much of the query the entry explains
# (rarity-weighted word coverage) and how close its best wording is in meaning (dense and gloss cosines).
GATE_FEATURES = ("w_cover", "g_cos", "d_cos")


@dataclass(frozen=True)
class TrainingSet:
    """Candidate rows of many probe queries: features, whether each row is the right entry, and probe facts."""

    matrix: np.ndarray  # (rows, features)
    labels: np.ndarray  # (rows,) bool
    probe: np.ndarray  # (rows,) index of the probe each row belongs to
    groups: np.ndarray  # (probes,) cross-validation group (an entry, or an out-of-scope line)
    in_scope: np.ndarray  # (probes,) bool: the probe has a right answer in the knowledge base


@dataclass(frozen=True)
class Gate:
    """Second stage: P(the best entry answers the query) from the row probability and a few of the row's features.

    The row model learns which entry answers; the gate is fitted on each probe's best row only (out of fold), so
    its score measures whether that best entry answers at all, which is what the threshold decides.
    """

    columns: tuple[int, ...]  # positions of GATE_FEATURES among the model's features
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    def inputs(self, probs: np.ndarray, matrix: np.ndarray) -> np.ndarray:
        """The gate's input columns: the row probability's logit, then the chosen features."""
        p = np.clip(probs, 1e-6, 1 - 1e-6)
        return np.column_stack([np.log(p / (1 - p)), matrix[:, list(self.columns)]])

    def score(self, probs: np.ndarray, matrix: np.ndarray) -> np.ndarray:
        """The gated probability per row."""
        return _sigmoid(((self.inputs(probs, matrix) - self.mean) / self.scale) @ self.coef + self.intercept)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    out: np.ndarray = 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))
    return out


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
    gate: Gate | None = None

    def predict(self, matrix: np.ndarray) -> np.ndarray:
        """Probability per row, through the gate when the model has one (numpy only: serving never imports
        scikit-learn or scipy)."""
        if not len(matrix):
            return np.zeros(0)
        probs = self.row_probability(matrix)
        return self.gate.score(probs, matrix) if self.gate is not None else probs

    def row_probability(self, matrix: np.ndarray) -> np.ndarray:
        """The first stage alone: P(this row is the right entry)."""
        return _sigmoid(((matrix - self.mean) / self.scale) @ self.coef + self.intercept)

    def columns_in(self, names: tuple[str, ...]) -> np.ndarray | None:
        """Where this model's features sit among `names` (the columns search computes); None when they are the
        same. A model saved before a feature was added reads only its own columns; a missing one is an error."""
        if names == self.features:
            return None
        missing = [f for f in self.features if f not in names]
        if missing:
            raise ConfigError(f"the fusion model needs features this version lacks ({', '.join(missing)}): rebuild")
        return np.asarray([names.index(f) for f in self.features], dtype=np.int64)

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
            "gate": None
            if self.gate is None
            else {
                "columns": list(self.gate.columns),
                "mean": self.gate.mean.tolist(),
                "scale": self.gate.scale.tolist(),
                "coef": self.gate.coef.tolist(),
                "intercept": self.gate.intercept,
            },
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FusionModel:
        """Inverse of `to_json` (a model saved before the gate existed has none)."""
        gate = data.get("gate")
        return cls(
            tuple(data["features"]),
            np.asarray(data["mean"], dtype=np.float64),
            np.asarray(data["scale"], dtype=np.float64),
            np.asarray(data["coef"], dtype=np.float64),
            float(data["intercept"]),
            float(data["threshold"]),
            dict(data.get("metrics", {})),
            None
            if not gate
            else Gate(
                tuple(int(c) for c in gate["columns"]),
                np.asarray(gate["mean"], dtype=np.float64),
                np.asarray(gate["scale"], dtype=np.float64),
                np.asarray(gate["coef"], dtype=np.float64),
                float(gate["intercept"]),
            ),
        )


def monotone(name: str) -> bool:
    """Whether a feature is evidence for the candidate (a similarity, coverage or margin of it), whose weight
    must not be negative: more evidence never lowers a score. Query-level features and the context-alone
    view (c_) may weigh either way, as may the dense x Chinese interaction."""
    base = name.removeprefix("x_")
    return not (name.startswith("c_") or base.startswith("q_") or base in ("same_lang", "d_cos_zh"))


def _fit(
    matrix: np.ndarray, labels: np.ndarray, regularisation: float, features: tuple[str, ...]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """L2-regularised logistic regression on standardised features, evidence weights bounded at zero.

    Without the bound, correlated evidence features (pinyin and character coverage) take opposite signs, and
    an exact match, whose features all sit at their maximum, would score lower than a near paraphrase.
    """
    from scipy.optimize import minimize

    mean = matrix.mean(axis=0)
    scale = matrix.std(axis=0)
    scale[scale < 1e-6] = 1.0
    x = (matrix - mean) / scale
    y = labels.astype(np.float64)
    weight = np.full(len(y), 1.0 / len(y))  # the mean log-loss; with `penalty` the objective of sklearn's C
    penalty = 1.0 / (2.0 * regularisation * len(y))

    def loss(params: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = params[:-1], params[-1]
        z = x @ w + b
        p = 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))
        nll = -np.sum(weight * (y * np.log(p + 1e-12) + (1 - y) * np.log(1 - p + 1e-12)))
        residual = weight * (p - y)
        grad = np.r_[x.T @ residual + 2 * penalty * w, residual.sum()]
        return float(nll + penalty * w @ w), grad

    bounds = [(0.0, None) if monotone(f) else (None, None) for f in features] + [(None, None)]
    start = np.zeros(x.shape[1] + 1)
    result = minimize(loss, start, jac=True, method="L-BFGS-B", bounds=bounds, options={"maxiter": 2000})
    return mean, scale, result.x[:-1].astype(np.float64), float(result.x[-1])


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


def _top_rows(probs: np.ndarray, data: TrainingSet) -> np.ndarray:
    """The row with the highest probability of each probe that has rows."""
    order = np.lexsort((probs, data.probe))
    last = np.r_[data.probe[order][1:] != data.probe[order][:-1], True]
    rows: np.ndarray = order[last]
    return rows


def _fit_gate(
    oof: np.ndarray, data: TrainingSet, features: tuple[str, ...], probe_fold: np.ndarray, folds: int
) -> tuple[Gate, np.ndarray]:
    """The gate fitted on each probe's best out-of-fold row (label: in scope and right), and its own
    out-of-fold scores per probe (cross-fitted by the same entry groups, for the threshold)."""
    rows = _top_rows(oof, data)
    probes = data.probe[rows]
    columns = tuple(features.index(f) for f in GATE_FEATURES)
    names = ("p", *GATE_FEATURES)  # every input is evidence: its weight is bounded at zero
    shell = Gate(columns, np.zeros(0), np.zeros(0), np.zeros(0), 0.0)
    x = shell.inputs(oof[rows], data.matrix[rows])
    y = data.labels[rows] & data.in_scope[probes]
    scores = np.zeros(len(data.groups))
    for fold in range(folds):
        train, test = probe_fold[probes] != fold, probe_fold[probes] == fold
        if not test.any() or len(np.unique(y[train])) < 2:
            continue
        mean, scale, coef, intercept = _fit(x[train], y[train], REGULARISATION, names)
        scores[probes[test]] = _sigmoid(((x[test] - mean) / scale) @ coef + intercept)
    mean, scale, coef, intercept = _fit(x, y, REGULARISATION, names)
    return Gate(columns, mean, scale, coef, intercept), scores


def train_fusion(
    data: TrainingSet,
    features: tuple[str, ...],
    folds: int = FOLDS,
    views: int = 1,
    extra: TrainingSet | None = None,
) -> FusionModel:
    """Fit the fusion model; the threshold comes from out-of-fold predictions (grouped by entry).

    `views` is how many views of the same features a row concatenates (the follow-up model has three: the
    query, context + query, the context alone): the regularisation grows with it, so the three copies of
    each feature share one feature's budget instead of tripling the model's freedom on fewer probes. A
    single-view model with the coverage features also gets the answerability gate (`Gate`). `extra` rows
    (harder, paraphrase-like probes) train the row model only: the gate and threshold come from `data`'s probes,
    and each fold leaves out the extra rows of its own groups too.
    """
    regularisation = REGULARISATION / views
    n_probes = len(data.groups)
    every_group = np.unique(np.r_[data.groups, extra.groups] if extra is not None else data.groups)
    fold_of_group = {g: i % folds for i, g in enumerate(every_group)}
    probe_fold = np.asarray([fold_of_group[g] for g in data.groups])
    row_fold = probe_fold[data.probe]
    matrix, labels = data.matrix, data.labels
    fit_fold = row_fold
    if extra is not None and len(extra.labels):
        matrix, labels = np.vstack([data.matrix, extra.matrix]), np.r_[data.labels, extra.labels]
        fit_fold = np.r_[row_fold, np.asarray([fold_of_group[g] for g in extra.groups])[extra.probe]]
    oof = np.zeros(len(data.labels))
    for fold in range(folds):
        train, test = fit_fold != fold, row_fold == fold
        if not test.any() or len(np.unique(labels[train])) < 2:
            continue
        mean, scale, coef, intercept = _fit(matrix[train], labels[train], regularisation, features)
        oof[test] = _sigmoid(((data.matrix[test] - mean) / scale) @ coef + intercept)
    top_p, top_ok = top_per_probe(oof, data, n_probes)
    gate = None
    if views == 1 and set(GATE_FEATURES) <= set(features) and len(data.labels):
        gate, top_p = _fit_gate(oof, data, features, probe_fold, folds)
    threshold, metrics = choose_threshold(top_p, top_ok, data.in_scope)
    mean, scale, coef, intercept = _fit(matrix, labels, regularisation, features)
    return FusionModel(features, mean, scale, coef, intercept, threshold, metrics, gate)
