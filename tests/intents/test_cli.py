"""`python -m assistant.intents` train / predict / evaluate, run as a user would (subprocesses, real model)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import MODEL_CACHE, run_module
from tests.intents.conftest import OFF_TOPIC, PARAPHRASES, write_csv

pytestmark = pytest.mark.integration


def run_cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """Run the intents CLI; returns the finished process."""
    return run_module("assistant.intents", *args, stdin=stdin)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model trained through the CLI on the fixture data."""
    from tests.intents.conftest import fixture_examples

    folder = tmp_path_factory.mktemp("cli")
    data = write_csv(folder / "train.csv", [(ex.text, ex.intent) for ex in fixture_examples()])
    done = run_cli("train", str(data), "--out", str(folder / "model"), "--cache-dir", str(MODEL_CACHE))
    assert done.returncode == 0, done.stderr
    assert "fold 1/10" in done.stderr  # progress goes to stderr
    summary = json.loads(done.stdout)
    assert summary["labels"] == 6
    return folder / "model"


def test_predict_prints_one_json_object_per_input_line(model_dir: Path) -> None:
    texts = [PARAPHRASES[0][0], OFF_TOPIC[0], PARAPHRASES[3][0]]
    done = run_cli("predict", "--model", str(model_dir), "--cache-dir", str(MODEL_CACHE), stdin="\n".join(texts) + "\n")
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [row["text"] for row in rows] == texts
    assert set(rows[0]) == {"text", "intent", "confidence"}
    assert [row["intent"] for row in rows] == [PARAPHRASES[0][1], "oos", PARAPHRASES[3][1]]
    assert all(0.0 <= row["confidence"] <= 1.0 for row in rows)


def test_evaluate_reports_accuracy_f1_oos_recall_and_confusions(model_dir: Path, tmp_path: Path) -> None:
    test = write_csv(tmp_path / "test.csv", [*PARAPHRASES, *((t, "oos") for t in OFF_TOPIC)])
    done = run_cli("evaluate", "--model", str(model_dir), str(test), "--json", "--cache-dir", str(MODEL_CACHE))
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["examples"] == len(PARAPHRASES) + len(OFF_TOPIC)
    assert report["oos_examples"] == len(OFF_TOPIC)
    assert report["in_scope_accuracy"] >= 0.8
    assert report["oos_recall"] >= 0.75
    assert 0.0 < report["macro_f1"] <= 1.0
    assert isinstance(report["confused"], list)
    text = run_cli("evaluate", "--model", str(model_dir), str(test), "--cache-dir", str(MODEL_CACHE))
    assert "out-of-scope recall" in text.stdout
    assert "in-scope accuracy" in text.stdout


def test_bad_files_exit_2_with_a_message(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("text,intent\nhello,\n", encoding="utf-8")
    done = run_cli("train", str(bad), "--out", str(tmp_path / "m"))
    assert done.returncode == 2
    assert f"{bad}:2: field 'intent' is empty" in done.stderr
    missing = run_cli("predict", "--model", str(tmp_path / "nowhere"), stdin="hi\n")
    assert missing.returncode == 2
    assert "no intent model" in missing.stderr
