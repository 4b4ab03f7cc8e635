"""Intent models that read the English gloss of Chinese examples beside their own vectors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from assistant.embedding import Embedder, HashingEmbedder, embed_all
from assistant.intents.data import load_examples
from assistant.intents.glossing import gloss_vectors, text_and_gloss_vectors, uses_gloss
from assistant.intents.model import is_stale, load_intent_model
from assistant.intents.training import TrainingConfig, train_intent_model
from knowledge_base.analysis import gloss
from tests.intents.conftest import fixture_examples, write_csv

EXAM_INTENTS = Path(__file__).resolve().parents[2] / "evals" / "data" / "foreign" / "exam" / "intents.csv"


def test_an_english_text_is_its_own_gloss_and_a_chinese_one_reads_the_dictionary(
    fake_embedder: HashingEmbedder,
) -> None:
    texts = ["how do I get a refund", "这门课能退钱吗"]
    vectors = fake_embedder.embed(texts)
    glossed = gloss_vectors(fake_embedder, texts, vectors)
    assert np.array_equal(glossed[0], vectors[0])
    assert gloss(texts[1]) != texts[1]
    assert np.allclose(glossed[1], fake_embedder.embed([gloss(texts[1])])[0])
    assert not np.allclose(glossed[1], vectors[1])
    together = text_and_gloss_vectors(fake_embedder, texts)  # one model call for both views
    assert np.allclose(together[0], vectors)
    assert np.allclose(together[1], glossed)
    assert uses_gloss(texts)
    assert not uses_gloss(texts[:1])


def test_a_gloss_model_predicts_the_same_with_the_search_gloss_vectors_or_its_own(
    fake_embedder: HashingEmbedder,
) -> None:
    model = train_intent_model(fixture_examples(), fake_embedder, config=TrainingConfig(gloss=True))
    assert model.gloss
    assert model.dimension == fake_embedder.dimension
    texts = ["课程怎么退款", "取消自动续费", "hello"]
    vectors = fake_embedder.embed(texts)
    given = fake_embedder.embed([gloss(t) for t in texts])
    assert np.allclose(model.probabilities(texts, vectors), model.probabilities(texts, vectors, given))
    assert np.allclose(model.probabilities(texts), model.probabilities(texts, vectors, given))
    with pytest.raises(ValueError, match="gloss_vectors have shape"):
        model.predict(texts, vectors, given[:2])


def test_the_gloss_reading_survives_save_and_load(fake_embedder: HashingEmbedder, tmp_path: Path) -> None:
    model = train_intent_model(fixture_examples(), fake_embedder, config=TrainingConfig(gloss=True))
    model.save(tmp_path / "m")
    loaded = load_intent_model(tmp_path / "m", fake_embedder)
    assert loaded.gloss
    texts = ["我想开发票", "怎么关掉连续包月"]
    assert np.allclose(loaded.probabilities(texts), model.probabilities(texts))


def test_chinese_data_is_trained_both_ways_and_keeps_the_better_held_out_accuracy(
    fake_embedder: HashingEmbedder,
) -> None:
    model = train_intent_model(fixture_examples(), fake_embedder)
    choice = model.manifest["gloss_choice"]
    better = max(choice, key=lambda k: (choice[k]["in_scope_accuracy"], k == "plain"))
    assert model.gloss == (better == "gloss")
    assert model.manifest["metrics"]["cross-validation"] == choice[better]
    english = [ex for ex in fixture_examples() if not uses_gloss([ex.text])]
    plain = train_intent_model(english, fake_embedder)
    assert not plain.gloss
    assert "gloss_choice" not in plain.manifest
    forced_off = train_intent_model(fixture_examples(), fake_embedder, config=TrainingConfig(gloss=False))
    assert not forced_off.gloss
    assert "gloss_choice" not in forced_off.manifest


def test_a_model_of_the_previous_format_loads_but_is_retrained(fake_embedder: HashingEmbedder, tmp_path: Path) -> None:
    data = write_csv(tmp_path / "intents.csv", [(ex.text, ex.intent) for ex in fixture_examples()])
    model = train_intent_model(load_examples(data), fake_embedder, config=TrainingConfig(gloss=False))
    model.save(tmp_path / "m")
    assert not is_stale(tmp_path / "m", data, fake_embedder.name)
    manifest_path = tmp_path / "m" / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["format"] = 1
    del manifest["gloss_vectors"]
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    old = load_intent_model(tmp_path / "m", fake_embedder)
    assert not old.gloss
    assert old.predict(["我要退款"])[0].intent == model.predict(["我要退款"])[0].intent
    assert is_stale(tmp_path / "m", data, fake_embedder.name)


@pytest.mark.integration
def test_reading_glosses_lifts_a_few_shot_chinese_intent_set(real_embedder: Embedder) -> None:
    # The exam-prep platform's intents (about 15 examples per intent, mostly Chinese): the bundled English
    # encoder maps most of their characters to [UNK], so their glosses carry what the vectors miss.
    examples = load_examples(EXAM_INTENTS)
    vectors = embed_all(real_embedder, [ex.text for ex in examples])
    model = train_intent_model(examples, real_embedder, vectors=vectors)
    choice = model.manifest["gloss_choice"]
    assert model.gloss
    assert choice["gloss"]["in_scope_accuracy"] >= choice["plain"]["in_scope_accuracy"] + 0.05
    assert choice["gloss"]["closed_set_accuracy"] >= choice["plain"]["closed_set_accuracy"] + 0.05
