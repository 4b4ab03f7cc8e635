"""The public benchmark loaders read the documented splits (guards evals/intent_benchmarks.py against format drift)."""

from __future__ import annotations

from pathlib import Path

from evals.intent_datasets import development_split, load_banking77, load_clinc150, load_xsid_zh, read_conll_intents


def test_banking77_has_77_intents_in_both_splits(shared_data: Path) -> None:
    bench = load_banking77(shared_data)
    assert (len(bench.train), len(bench.test)) == (10003, 3080)
    assert len({ex.intent for ex in bench.train}) == len({ex.intent for ex in bench.test}) == 77


def test_clinc150_keeps_oos_rows_in_train_validation_and_test(shared_data: Path) -> None:
    bench = load_clinc150(shared_data)
    assert bench.validation is not None
    assert (len(bench.train), len(bench.validation), len(bench.test)) == (15100, 3100, 5500)
    assert sum(ex.intent == "oos" for ex in bench.test) == 1000
    assert len({ex.intent for ex in bench.train}) == 151


def test_xsid_reads_text_and_intent_comment_lines(shared_data: Path, tmp_path: Path) -> None:
    bench = load_xsid_zh(shared_data)
    assert (len(bench.train), len(bench.test)) == (300, 500)
    conll = tmp_path / "x.conll"
    conll.write_text(
        "# id = 1\n# text-en = Is it going to rain?\n# text = 今天会下雨吗？\n# intent = weather/find\n"
        "1\t今天\tweather/find\tB-datetime\n\n# id = 2\n# text = 关闹钟\n# intent = alarm/cancel_alarm\n",
        encoding="utf-8",
    )
    assert [(ex.text, ex.intent) for ex in read_conll_intents(conll)] == [
        ("今天会下雨吗？", "weather/find"),
        ("关闹钟", "alarm/cancel_alarm"),
    ]


def test_development_splits_hold_out_training_or_validation_rows_never_test_rows(shared_data: Path) -> None:
    bank = load_banking77(shared_data)
    dev = development_split(bank)
    assert dev is not None
    assert dev.validation is None
    assert len(dev.train) + len(dev.test) == len(bank.train)
    assert {ex.intent for ex in dev.test} == {ex.intent for ex in bank.train}  # stratified: every intent held out
    assert 0.14 < len(dev.test) / len(bank.train) < 0.16
    assert not {(ex.text, ex.intent) for ex in dev.test} & {(ex.text, ex.intent) for ex in bank.test}
    clinc = load_clinc150(shared_data)
    assert clinc.validation is not None
    cdev = development_split(clinc)
    assert cdev is not None
    assert cdev.validation is not None
    assert sorted(map(str, cdev.test + cdev.validation)) == sorted(map(str, clinc.validation))
    assert sum(ex.intent == "oos" for ex in cdev.test) == 50
    assert development_split(load_xsid_zh(shared_data)) is None  # too small to spare a split
