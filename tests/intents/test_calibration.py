"""Temperature scaling and the out-of-scope threshold, on synthetic held-out scores."""

from __future__ import annotations

import numpy as np

from assistant.intents.calibration import DEFAULT_THRESHOLD, choose_threshold, fit_temperature, softmax


def test_temperature_recovers_the_scale_that_generated_the_labels() -> None:
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(4000, 5))
    probs = softmax(scores / 0.5)
    targets = np.array([rng.choice(5, p=p) for p in probs])
    assert abs(fit_temperature(scores, targets) - 0.5) < 0.05


def test_threshold_separates_out_of_scope_from_in_scope_confidences() -> None:
    rng = np.random.default_rng(1)
    conf = np.concatenate([rng.uniform(0.6, 1.0, 200), rng.uniform(0.05, 0.4, 50)])
    is_oos = np.arange(250) >= 200
    choice = choose_threshold(conf, ~is_oos, is_oos, np.zeros(250, dtype=bool))
    assert 0.4 <= choice.threshold <= 0.6
    assert choice.in_scope_accuracy == 1.0
    assert choice.oos_recall == 1.0


def test_threshold_does_not_give_up_much_in_scope_accuracy_for_out_of_scope_recall() -> None:
    # Out-of-scope confidences overlap the in-scope ones: catching them all would reject half the in-scope queries.
    conf = np.concatenate([np.linspace(0.3, 1.0, 100), np.linspace(0.3, 0.65, 20)])
    is_oos = np.arange(120) >= 100
    choice = choose_threshold(conf, ~is_oos, is_oos, np.zeros(120, dtype=bool))
    assert choice.in_scope_accuracy >= 0.5
    assert choice.oos_recall is not None
    assert choice.oos_recall < 1.0


def test_examples_predicted_as_the_oos_class_count_as_rejected() -> None:
    conf = np.array([0.9, 0.8, 0.95])
    is_oos = np.array([False, False, True])
    choice = choose_threshold(conf, np.array([True, True, False]), is_oos, np.array([False, False, True]))
    assert choice.oos_recall == 1.0
    assert choice.in_scope_accuracy == 1.0


def test_without_out_of_scope_examples_the_threshold_is_one_half() -> None:
    conf = np.array([0.2, 0.7, 0.9])
    choice = choose_threshold(conf, np.array([False, True, True]), np.zeros(3, dtype=bool), np.zeros(3, dtype=bool))
    assert choice.threshold == DEFAULT_THRESHOLD
    assert choice.oos_recall is None
