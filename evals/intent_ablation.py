"""Feature ablation on training data only: which feature blocks measurably help, per dataset (closed-set accuracy).

Small sets (demo, xSID-zh) use 10-fold cross-validation; BANKING77 uses one stratified 15% validation split of
train.csv. Test splits are never touched here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from assistant.intents.data import Example
from assistant.intents.training import DEFAULT_BLOCKS, TrainingConfig, fit_linear, out_of_fold_scores
from assistant.intents.types import OOS


def _without(block: str) -> dict[str, dict[str, float]]:
    return {name: opts for name, opts in DEFAULT_BLOCKS.items() if name != block}


def variants() -> dict[str, TrainingConfig]:
    """The configurations compared: the default and one block removed at a time."""
    base = TrainingConfig()
    return {
        "all features (default)": base,
        "without embedding": replace(base, embedding_weight=0.0),
        "without char n-grams": replace(base, blocks=_without("char")),
        "without words": replace(base, blocks=_without("word")),
        "without pinyin": replace(base, blocks=_without("pinyin")),
        "embedding only": replace(base, blocks={}),
    }


def _closed_accuracy(scores: np.ndarray, y: np.ndarray, oos_col: int | None) -> float:
    if oos_col is not None:
        scores = scores.copy()
        scores[:, oos_col] = -np.inf
    keep = y != (-1 if oos_col is None else oos_col)
    return round(float((scores.argmax(axis=1) == y)[keep].mean()), 4)


def ablate(
    examples: Sequence[Example], vectors: np.ndarray, *, holdout: float | None = None, seed: int = 0
) -> dict[str, Any]:
    """Closed-set accuracy of each variant: cross-validation, or one stratified `holdout` split when given."""
    texts = [ex.text for ex in examples]
    classes = sorted({ex.intent for ex in examples})
    index = {c: i for i, c in enumerate(classes)}
    y = np.array([index[ex.intent] for ex in examples])
    oos_col = index.get(OOS)
    results: dict[str, float] = {}
    for name, config in variants().items():
        if holdout is None:
            scores, scored = out_of_fold_scores(
                texts, vectors, y, len(classes), replace(config, folds=10), lambda _m: None
            )
            results[name] = _closed_accuracy(scores[scored], y[scored], oos_col)
            continue
        rng = np.random.default_rng(seed)
        is_val = np.zeros(len(y), dtype=bool)
        for label in np.unique(y):
            idx = rng.permutation(np.flatnonzero(y == label))
            is_val[idx[: round(holdout * len(idx))]] = True
        train, val = np.flatnonzero(~is_val), np.flatnonzero(is_val)
        featurizer, coef, intercept = fit_linear(
            [texts[i] for i in train], vectors[train], y[train], len(classes), config
        )
        scores = np.asarray(featurizer.transform([texts[i] for i in val], vectors[val]) @ coef) + intercept
        results[name] = _closed_accuracy(scores, y[val], oos_col)
    method = "10-fold cross-validation" if holdout is None else f"stratified {holdout:.0%} validation split of train"
    return {"method": method, "closed_set_accuracy": results}
