"""Training paths that need no real model: calibration sources, tiny data, errors (fake embedder)."""

from __future__ import annotations

import pytest

from assistant.embedding import HashingEmbedder
from assistant.errors import InvalidInput
from assistant.intents.data import Example
from assistant.intents.training import train_intent_model
from tests.intents.conftest import fixture_examples


def test_without_oos_examples_the_threshold_is_one_half(fake_embedder: HashingEmbedder) -> None:
    examples = [ex for ex in fixture_examples() if ex.intent != "oos"]
    model = train_intent_model(examples, fake_embedder)
    assert model.threshold == 0.5
    assert model.manifest["oos_examples"] == 0
    assert "oos_recall" not in model.manifest["metrics"]["cross-validation"]


def test_a_validation_set_replaces_cross_validation(fake_embedder: HashingEmbedder) -> None:
    examples = fixture_examples()
    validation = [
        Example("课程怎么退款", "refund_request"),
        Example("后天下雨吗", "oos"),
        Example("hello!", "greeting"),
    ]
    model = train_intent_model(examples, fake_embedder, validation=validation)
    assert model.manifest["calibration"]["source"] == "validation"
    with pytest.raises(InvalidInput, match="validation intents missing from training: nope"):
        train_intent_model(examples, fake_embedder, validation=[Example("x", "nope")])


def test_tiny_data_trains_when_cross_validation_is_possible(fake_embedder: HashingEmbedder) -> None:
    examples = [
        Example("我要退款", "refund"),
        Example("退款", "refund"),
        Example("你好", "greeting"),
        Example("hi", "greeting"),
    ]
    model = train_intent_model(examples, fake_embedder)
    assert set(model.labels) == {"refund", "greeting"}
    assert model.predict(["我要退款"])[0].ranking[0][0] == "refund"
    with pytest.raises(InvalidInput, match="at least 2 examples"):
        train_intent_model([Example("我要退款", "refund"), Example("你好", "greeting")], fake_embedder)


def test_vectors_must_match_the_examples(fake_embedder: HashingEmbedder) -> None:
    examples = fixture_examples()
    with pytest.raises(InvalidInput, match="vectors for"):
        train_intent_model(examples, fake_embedder, vectors=fake_embedder.embed(["one"]))
