"""Calibration: fit the score mixture/temperature by likelihood, choose the out-of-scope threshold on held-out data."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax, numerically stable."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    result: np.ndarray = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return result


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax."""
    result: np.ndarray = np.exp(log_softmax(logits))
    return result


def fit_temperature(scores: np.ndarray, targets: np.ndarray) -> float:
    """Temperature minimising the negative log-likelihood of held-out targets under softmax(scores / T)."""
    from scipy.optimize import minimize_scalar

    rows = np.arange(len(targets))

    def nll(log_t: float) -> float:
        return float(-log_softmax(scores / np.exp(log_t))[rows, targets].mean())

    # Linear SVM margins are small (about ±1), so useful temperatures lie well below 1.
    result = minimize_scalar(nll, bounds=(np.log(1e-3), np.log(10.0)), method="bounded")
    return float(np.exp(result.x))


# Reject when the calibrated probability that the top intent is right is below one half: a confident wrong
# intent costs more than "I'm not sure", so accept only what is more likely right than wrong.
DEFAULT_THRESHOLD = 0.5
# Weight of out-of-scope recall against in-scope accuracy when held-out out-of-scope examples exist: the
# expected accuracy on traffic where about one query in five is out of scope (CLINC150's test set has 18%).
# A third over-rejected in-scope queries on CLINC150's validation split, so the weight is not larger.
OOS_RECALL_WEIGHT = 1 / 4


@dataclass(frozen=True)
class ThresholdChoice:
    """The rejection threshold, how it was chosen, and what it achieved on the held-out data."""

    threshold: float
    in_scope_accuracy: float
    oos_recall: float | None
    rule: str


def choose_threshold(
    confidence: np.ndarray,
    correct: np.ndarray,
    is_oos: np.ndarray,
    predicted_oos: np.ndarray,
    oos_weight: float = OOS_RECALL_WEIGHT,
) -> ThresholdChoice:
    """Threshold on calibrated confidence for held-out predictions.

    With held-out out-of-scope examples: the cut maximising in-scope accuracy + `oos_weight` × out-of-scope
    recall (in-scope examples count when accepted and correct, out-of-scope ones when rejected or predicted
    as the `oos` class; rates, so the share of out-of-scope examples in the data does not matter).
    Without: `DEFAULT_THRESHOLD`.
    """
    in_scope = ~is_oos
    if not is_oos.any() or not in_scope.any():
        accepted = (confidence >= DEFAULT_THRESHOLD) & ~predicted_oos
        acc = float((accepted & correct)[in_scope].mean()) if in_scope.any() else 0.0
        return ThresholdChoice(DEFAULT_THRESHOLD, acc, None, "calibrated probability 0.5")
    order = np.argsort(confidence, kind="stable")
    conf, good, oos, pred_oos = confidence[order], correct[order], is_oos[order], predicted_oos[order]
    # Rejecting the i lowest-confidence examples, for every i (cumulative counts, O(n log n)).
    good_in = (good & ~oos & ~pred_oos).astype(np.float64)
    kept_good = np.concatenate([[good_in.sum()], good_in.sum() - np.cumsum(good_in)])
    rejected_oos = np.concatenate([[0.0], np.cumsum(oos)])
    caught_later = np.concatenate([[0.0], np.cumsum((oos & pred_oos)[::-1])])[::-1]
    in_acc = kept_good / (~oos).sum()
    oos_rec = (rejected_oos + caught_later) / oos.sum()
    # Only cut between distinct confidences, half-way, so the threshold does not sit on a training point.
    valid = np.concatenate([[True], conf[1:] > conf[:-1], [True]])
    cuts = np.concatenate([[0.0], (conf[:-1] + conf[1:]) / 2, [np.nextafter(conf[-1], np.inf)]])
    score = np.where(valid, in_acc + oos_weight * oos_rec, -np.inf)
    best = np.flatnonzero(score >= score.max() - 1e-12)
    pick = int(best[len(best) // 2])
    return ThresholdChoice(
        float(cuts[pick]),
        float(in_acc[pick]),
        float(oos_rec[pick]),
        f"max in-scope acc + {oos_weight:.2f} x oos recall",
    )
