"""Conditional logit with a null alternative: one softmax over a query's candidates and "none of them".

Each candidate's utility is `x @ w + b`; the null alternative's is 0, so the query-level features (q_*), the
same on every row of a query, and the intercept together make the null's utility: a long chatty query or one
full of words the FAQ never uses can learn to lean towards "none" without pulling its best candidate below a
weaker one. A candidate's score is its share of the softmax including the null: in [0, 1], comparable across
queries, and the candidates of one query compete for one unit of probability instead of each being judged alone.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def _softmax(z: np.ndarray, probe: np.ndarray, n_probes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per probe the largest utility (at least the null's 0: stable exponentials), per row exp(z - that), and per
    probe the softmax's denominator over its rows and the null, in the same shifted scale."""
    top = np.zeros(n_probes)
    np.maximum.at(top, probe, z)
    e = np.exp(z - top[probe])
    total = np.exp(-top) + np.bincount(probe, weights=e, minlength=n_probes)
    return top, e, total


def choice_probabilities(z: np.ndarray, probe: np.ndarray, n_probes: int) -> np.ndarray:
    """P(row is the choice) per row: a softmax over the rows of its probe plus a null of utility 0."""
    _, e, total = _softmax(z, probe, n_probes)
    out: np.ndarray = e / total[probe]
    return out


def single_query_probabilities(z: np.ndarray) -> np.ndarray:
    """`choice_probabilities` for the rows of one query."""
    if not len(z):
        return np.zeros(0)
    top = max(0.0, float(z.max()))
    e = np.exp(z - top)
    out: np.ndarray = e / (np.exp(-top) + e.sum())
    return out


def choice_loss(
    x: np.ndarray, labels: np.ndarray, probe: np.ndarray, n_probes: int, penalty: float
) -> Callable[[np.ndarray], tuple[float, np.ndarray]]:
    """The mean negative log-likelihood over probes (plus `penalty` * |w|^2) and its gradient in (w, b).

    A probe with no labelled row chooses the null: out-of-scope probes, and in-scope ones whose entry is not
    among the candidates (no answer would be right, so "none" is the best it can do).
    """
    y = labels.astype(np.float64)
    weight = 1.0 / max(n_probes, 1)

    def loss(params: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = params[:-1], params[-1]
        z = x @ w + b
        top, e, total = _softmax(z, probe, n_probes)
        log_norm = top + np.log(total)  # log(1 + sum exp z) per probe
        nll = weight * (log_norm.sum() - float(y @ z))
        residual = weight * (e / total[probe] - y)
        grad = np.r_[x.T @ residual + 2 * penalty * w, residual.sum()]
        return float(nll + penalty * w @ w), grad

    return loss
