"""Fusion model and threshold choice: probabilities rank right answers first, thresholds come from data."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.errors import ConfigError
from knowledge_base.fusion import FusionModel, TrainingSet, choose_threshold, train_fusion


def _synthetic(n_probes: int = 200, seed: int = 0) -> TrainingSet:
    rng = np.random.default_rng(seed)
    rows, labels, owners, in_scope = [], [], [], []
    for probe in range(n_probes):
        inside = probe % 3 != 0
        in_scope.append(inside)
        for candidate in range(5):
            right = inside and candidate == 0
            rows.append([rng.normal(3.5 if right else 0.0), rng.normal()])
            labels.append(right)
            owners.append(probe)
    return TrainingSet(
        np.asarray(rows), np.asarray(labels), np.asarray(owners), np.arange(n_probes), np.asarray(in_scope)
    )


def test_trained_model_separates_and_sets_a_threshold_between_classes() -> None:
    data = _synthetic()
    model = train_fusion(data, ("signal", "noise"))
    assert model.coef[0] > 1.0
    assert abs(model.coef[1]) < 0.5
    assert 0.05 < model.threshold < 0.95
    assert model.metrics["answered_correct"] > 0.7
    assert model.metrics["oos_rejected"] > 0.7


def test_threshold_rejects_everything_out_of_scope_when_separable() -> None:
    top_p = np.array([0.9, 0.8, 0.85, 0.1, 0.2, 0.15])
    top_ok = np.array([True, True, True, False, False, False])
    in_scope = np.array([True, True, True, False, False, False])
    threshold, metrics = choose_threshold(top_p, top_ok, in_scope)
    assert 0.2 < threshold <= 0.8
    assert metrics["oos_rejected"] == 1.0
    assert metrics["answered_correct"] == 1.0


def test_json_round_trip_predicts_the_same() -> None:
    model = train_fusion(_synthetic(), ("signal", "noise"))
    again = FusionModel.from_json(model.to_json())
    x = np.array([[2.0, 0.0], [0.0, 0.0]])
    np.testing.assert_allclose(again.predict(x), model.predict(x))
    assert again.predict(x)[0] > again.predict(x)[1]


def test_a_model_saved_before_a_feature_was_added_reads_only_its_own_columns() -> None:
    model = train_fusion(_synthetic(), ("signal", "noise"))
    assert model.columns_in(("signal", "noise")) is None
    columns = model.columns_in(("new", "signal", "noise"))
    assert columns is not None
    wider = np.array([[9.0, 2.0, 0.0], [9.0, 0.0, 0.0]])
    np.testing.assert_allclose(model.predict(wider[:, columns]), model.predict(wider[:, 1:]))
    with pytest.raises(ConfigError, match="rebuild"):
        model.columns_in(("signal",))
