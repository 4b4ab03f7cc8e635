"""Calibrated score fusion: a model over candidate features (pointwise or a choice among the candidates), and the
`answerable` threshold."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from assistant.errors import ConfigError, InvalidInput
from knowledge_base.choice import choice_loss, choice_probabilities, single_query_probabilities

FOLDS = 3
REGULARISATION = 1.0
POINTWISE = "pointwise"  # logistic regression per candidate row: P(this entry answers the query)
CHOICE = "choice"  # conditional logit over a query's candidates and a null alternative (knowledge_base.choice)
# the choice model's scores with the bar that rejects as many out-of-scope probes as the pointwise model's F1 bar
CHOICE_MATCHED = "choice-matched"
FUSION_KINDS = (POINTWISE, CHOICE, CHOICE_MATCHED)


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
    """Standardised linear model giving P(this entry answers the query), plus its threshold.

    `kind` POINTWISE scores each row alone; CHOICE takes the rows of `predict` as one query's candidates and
    shares one unit of probability among them and "none" (snapshots saved before it existed are pointwise).
    """

    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    threshold: float
    metrics: Mapping[str, float] = field(default_factory=dict)
    kind: str = POINTWISE

    def predict(self, matrix: np.ndarray) -> np.ndarray:
        """Probability per row (numpy only, so serving never imports scipy); CHOICE: the rows of one query."""
        if not len(matrix):
            return np.zeros(0)
        z = ((matrix - self.mean) / self.scale) @ self.coef + self.intercept
        if self.kind == CHOICE:
            return single_query_probabilities(z)
        out: np.ndarray = 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))
        return out

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
            "kind": self.kind,
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
            str(data.get("kind", POINTWISE)),
        )


def monotone(name: str) -> bool:
    """Whether a feature is evidence for the candidate (a similarity, coverage or margin of it), whose weight
    must not be negative: more evidence never lowers a score. Query-level features and the context-alone
    view (c_) may weigh either way, as may the dense x Chinese interaction."""
    base = name.removeprefix("x_")
    return not (name.startswith("c_") or base.startswith("q_") or base in ("same_lang", "d_cos_zh"))


def _fit(
    matrix: np.ndarray,
    labels: np.ndarray,
    probe: np.ndarray,
    regularisation: float,
    features: tuple[str, ...],
    kind: str = POINTWISE,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """L2-regularised fit on standardised features, evidence weights bounded at zero: logistic regression per
    row (POINTWISE) or the conditional logit over each probe's rows and a null (CHOICE, `choice_loss`).

    Without the bound, correlated evidence features (pinyin and character coverage) take opposite signs, and
    an exact match, whose features all sit at their maximum, would score lower than a near paraphrase.
    """
    from scipy.optimize import minimize

    mean = matrix.mean(axis=0)
    scale = matrix.std(axis=0)
    scale[scale < 1e-6] = 1.0
    x = (matrix - mean) / scale
    if kind == CHOICE:
        ids, local = np.unique(probe, return_inverse=True)
        # the mean loss per probe; C on the summed loss, as the pointwise fit's per row
        loss = choice_loss(x, labels, local, len(ids), 1.0 / (2.0 * regularisation * max(len(ids), 1)))
    else:
        loss = _pointwise_loss(x, labels, 1.0 / (2.0 * regularisation * len(labels)))
    bounds = [*((0.0, None) if monotone(f) else (None, None) for f in features), (None, None)]
    start = np.zeros(x.shape[1] + 1)
    result = minimize(loss, start, jac=True, method="L-BFGS-B", bounds=bounds, options={"maxiter": 2000})
    return mean, scale, result.x[:-1].astype(np.float64), float(result.x[-1])


def _pointwise_loss(
    x: np.ndarray, labels: np.ndarray, penalty: float
) -> Callable[[np.ndarray], tuple[float, np.ndarray]]:
    """The mean log-loss of a logistic regression (with `penalty` the objective of sklearn's C) and its gradient."""
    y = labels.astype(np.float64)
    weight = np.full(len(y), 1.0 / len(y))

    def loss(params: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = params[:-1], params[-1]
        z = x @ w + b
        p = 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))
        nll = -np.sum(weight * (y * np.log(p + 1e-12) + (1 - y) * np.log(1 - p + 1e-12)))
        residual = weight * (p - y)
        grad = np.r_[x.T @ residual + 2 * penalty * w, residual.sum()]
        return float(nll + penalty * w @ w), grad

    return loss


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
    best_f1 = -1.0
    scores: list[tuple[float, float]] = []
    for t in candidates:
        f1 = _f1(top_p >= t, top_ok, in_scope, n_in, oos_weight)
        scores.append((float(t), f1))
        best_f1 = max(best_f1, f1)
    # the middle of the best plateau: robust to the exact probe sample
    plateau = [t for t, f1 in scores if f1 >= best_f1 - 1e-9]
    best_t = float(np.median(plateau))
    return best_t, threshold_metrics(top_p, top_ok, in_scope, best_t)


def _f1(answered: np.ndarray, top_ok: np.ndarray, in_scope: np.ndarray, n_in: int, oos_weight: float) -> float:
    correct = float((answered & top_ok & in_scope).sum())
    wrong = float((answered & ~top_ok & in_scope).sum()) + oos_weight * float((answered & ~in_scope).sum())
    precision = correct / (correct + wrong) if correct + wrong else 0.0
    recall = correct / n_in
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def threshold_metrics(top_p: np.ndarray, top_ok: np.ndarray, in_scope: np.ndarray, t: float) -> dict[str, float]:
    """F1, top-1, answered correctly and OOS rejected of the probes' best rows at threshold `t`."""
    n_in = max(int(in_scope.sum()), 1)
    n_out = int((~in_scope).sum())
    answered = top_p >= t
    return {
        "f1": _f1(answered, top_ok, in_scope, n_in, n_in / n_out if n_out else 0.0),
        "top1": float((top_ok & in_scope).sum()) / n_in,
        "answered_correct": float((answered & top_ok & in_scope).sum()) / n_in,
        "oos_rejected": float((~answered & ~in_scope).sum()) / n_out if n_out else 1.0,
        "probes_in_scope": float(n_in),
        "probes_out_of_scope": float(n_out),
    }


def matching_threshold(top_p: np.ndarray, in_scope: np.ndarray, rejected: float) -> float:
    """The threshold rejecting the share `rejected` of the out-of-scope probes (by their best row's score):
    halfway between the last rejected probe's score and the first answered one's."""
    oos = np.sort(top_p[~in_scope])
    if not len(oos):
        return 0.5
    k = round(rejected * len(oos))
    if k <= 0:
        return float(oos[0])
    if k >= len(oos):
        return float(np.nextafter(oos[-1], np.inf))
    return (float(oos[k - 1]) + float(oos[k])) / 2


def train_fusion(
    data: TrainingSet,
    features: tuple[str, ...],
    folds: int = FOLDS,
    views: int = 1,
    kind: str = POINTWISE,
    reference: TrainingSet | None = None,
) -> FusionModel:
    """Fit the fusion model; the threshold comes from out-of-fold predictions (grouped by entry).

    `views` is how many views of the same features a row concatenates (the follow-up model has three: the
    query, context + query, the context alone): the regularisation grows with it, so the three copies of
    each feature share one feature's budget instead of tripling the model's freedom on fewer probes.

    CHOICE_MATCHED fits the choice model (the result's `kind` is CHOICE: it scores like one) and sets its bar
    where its out-of-fold predictions reject as many out-of-scope probes as a pointwise model's F1 bar does on
    `reference` (the same probes, e.g. only the hardest rows; default `data`). The pointwise model only fixes
    that operating point and is discarded: the choice model's F1 bar on the probes answers more and rejects
    fewer of real users' OOS queries (README), so its better separation is spent on answering more at the
    current system's OOS rejection instead.
    """
    if kind not in FUSION_KINDS:
        raise InvalidInput(f"unknown fusion kind {kind!r}: one of {', '.join(FUSION_KINDS)}")
    regularisation = REGULARISATION / views
    fit_kind = CHOICE if kind == CHOICE_MATCHED else kind
    top_p, top_ok = _out_of_fold(data, features, folds, regularisation, fit_kind)
    if kind == CHOICE_MATCHED:
        reference = data if reference is None else reference
        if not np.array_equal(reference.groups, data.groups):
            raise InvalidInput("the reference training set must hold the same probes")
        ref_p, ref_ok = _out_of_fold(reference, features, folds, regularisation, POINTWISE)
        ref_threshold, ref_metrics = choose_threshold(ref_p, ref_ok, reference.in_scope)
        threshold = matching_threshold(top_p, data.in_scope, ref_metrics["oos_rejected"])
        metrics = threshold_metrics(top_p, top_ok, data.in_scope, threshold) | {
            "reference_threshold": ref_threshold,
            "reference_oos_rejected": ref_metrics["oos_rejected"],
            "reference_answered_correct": ref_metrics["answered_correct"],
        }
    else:
        threshold, metrics = choose_threshold(top_p, top_ok, data.in_scope)
    mean, scale, coef, intercept = _fit(data.matrix, data.labels, data.probe, regularisation, features, fit_kind)
    return FusionModel(features, mean, scale, coef, intercept, threshold, metrics, fit_kind)


def _out_of_fold(
    data: TrainingSet, features: tuple[str, ...], folds: int, regularisation: float, kind: str
) -> tuple[np.ndarray, np.ndarray]:
    """Best out-of-fold probability per probe (folds by group) and whether that best row is the right entry."""
    n_probes = len(data.groups)
    fold_of_group = {g: i % folds for i, g in enumerate(np.unique(data.groups))}
    probe_fold = np.asarray([fold_of_group[g] for g in data.groups])
    row_fold = probe_fold[data.probe]
    oof = np.zeros(len(data.labels))
    for fold in range(folds):
        train, test = row_fold != fold, row_fold == fold
        if not test.any() or len(np.unique(data.labels[train])) < 2:
            continue
        mean, scale, coef, intercept = _fit(
            data.matrix[train], data.labels[train], data.probe[train], regularisation, features, kind
        )
        z = ((data.matrix[test] - mean) / scale) @ coef + intercept
        if kind == CHOICE:
            oof[test] = choice_probabilities(z, data.probe[test], n_probes)
        else:
            oof[test] = 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))
    return top_per_probe(oof, data, n_probes)
