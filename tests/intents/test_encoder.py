"""The optional fine-tuned intent encoder: it separates intents better, and a saved model serves it with ONNX."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assistant.embedding import Embedder, HashingEmbedder
from assistant.errors import InvalidInput
from assistant.intents.data import Example
from assistant.intents.model import HybridIntentClassifier, load_intent_model
from assistant.intents.training import TrainingConfig, train_intent_model
from tests.intents.conftest import OFF_TOPIC, PARAPHRASES, fixture_examples

pytestmark = [pytest.mark.integration, pytest.mark.slow]
VALIDATION = [Example(text, intent) for text, intent in PARAPHRASES] + [Example(t, "oos") for t in OFF_TOPIC]


@pytest.fixture(scope="module")
def tuned(real_embedder: Embedder) -> HybridIntentClassifier:
    """A model whose encoder was fine-tuned for a few steps on the fixture (calibrated on the paraphrases)."""
    config = TrainingConfig(fine_tune_epochs=3)
    return train_intent_model(fixture_examples(), real_embedder, validation=VALIDATION, config=config)


def _separation(vectors: np.ndarray, labels: list[str]) -> float:
    """Mean cosine to examples of the same intent minus mean cosine to examples of other intents."""
    same = np.array([[a == b for b in labels] for a in labels])
    sims = vectors @ vectors.T
    off_diagonal = ~np.eye(len(labels), dtype=bool)
    return float(sims[same & off_diagonal].mean() - sims[~same].mean())


def test_fine_tuning_pulls_intents_apart(tuned: HybridIntentClassifier, real_embedder: Embedder) -> None:
    examples = fixture_examples()
    texts, labels = [ex.text for ex in examples], [ex.intent for ex in examples]
    assert tuned.encoder is not None
    before = _separation(real_embedder.embed(texts), labels)
    after = _separation(tuned.encoder.embed(texts), labels)
    assert after > before + 0.05, (before, after)


def test_a_saved_tuned_model_serves_its_own_encoder_and_predicts_the_same(
    tuned: HybridIntentClassifier, real_embedder: Embedder, tmp_path: Path
) -> None:
    tuned.save(tmp_path / "m")
    assert (tmp_path / "m" / "encoder" / "model.safetensors").exists()
    loaded = load_intent_model(tmp_path / "m", real_embedder)
    assert loaded.manifest["encoder"]["epochs"] == 3
    texts = [text for text, _ in PARAPHRASES] + OFF_TOPIC
    # The shared embedder's vectors are ignored: the model embeds with its encoder (now through ONNX Runtime).
    served = loaded.predict(texts, real_embedder.embed(texts))
    in_memory = tuned.predict(texts)
    assert [p.intent for p in served] == [p.intent for p in in_memory]
    assert np.allclose([p.confidence for p in served], [p.confidence for p in in_memory], atol=1e-3)
    wrong = [(p.text, p.intent) for p, (_, gold) in zip(served, PARAPHRASES, strict=False) if p.intent != gold]
    assert len(wrong) <= 1, wrong


def test_fine_tuning_needs_a_validation_set(fake_embedder: HashingEmbedder) -> None:
    with pytest.raises(InvalidInput, match="needs a validation set"):
        train_intent_model(fixture_examples(), fake_embedder, config=TrainingConfig(fine_tune_epochs=1))
