"""`python -m evals report` writes the weekly review; the synthetic month feeds the same summary."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from assistant.analytics import AnalyticsService, Period
from evals.__main__ import main as evals_main
from evals.synthetic_month import TZ, generate, load_content, write
from storage.sqlite import SqliteStore
from tests.analytics.events import at
from tests.analytics.test_metrics import containment_log


def test_report_writes_the_summary_as_markdown(tmp_path: Path) -> None:
    db = tmp_path / "review.db"
    store = SqliteStore(db)
    store.append_events(containment_log().ordered())
    store.close()
    out = tmp_path / "reports" / "week.md"
    code = evals_main(
        ["report", "--from", "2026-01-05", "--to", "2026-01-05", "--store-url", f"sqlite:///{db}", "--out", str(out)]
    )
    assert code == 0
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# Support review 2026-01-05")
    assert "| conversations (with a user turn) | 10 (9) |" in text
    assert "| containment | **44.4%**: confirmed 11.1% + assumed 33.3% |" in text
    assert "returned within 24 h 2, unanswered 2" in text
    assert "| repeated_failure | 1 |" in text
    assert "| 2026-01-05 | 10 | 9 | 1 | 3 | 1 | 44.4% |" in text


def test_report_rejects_a_bad_period_with_a_clear_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    assert evals_main(["report", "--from", "2026-13-01", "--store-url", url]) == 2
    assert "ISO date" in capsys.readouterr().err


def test_unknown_commands_are_refused() -> None:
    with pytest.raises(SystemExit) as exc:
        evals_main(["nonsense"])
    assert exc.value.code == 2


def test_a_synthetic_month_has_every_segment_and_answered_gaps(tmp_path: Path) -> None:
    month = generate(load_content(), conversations=600, seed=3, start=date(2026, 3, 1), days=10)
    assert month.conversations == 600
    store = SqliteStore(tmp_path / "month.db")
    write(store, month)
    service = AnalyticsService(store)
    summary = service.summary(Period(at("2026-03-01 00:00"), at("2026-03-11 00:00"), str(TZ)))
    totals = summary.totals
    assert totals.conversations == 600
    assert set(summary.by_channel) == {"web", "wechat", "webhook"}
    assert set(summary.by_tier) == {"free", "member", "vip"}
    assert 0.3 < (totals.containment.rate or 0) < 0.8
    assert totals.containment.returned > 0
    assert totals.csat.count > 0
    assert totals.sla.met > totals.sla.missed > 0
    gaps = service.gaps(Period(at("2026-03-01 00:00"), at("2026-03-11 00:00"), str(TZ)), limit=5)
    assert gaps.clusters
    assert any(c.proposal is not None for c in gaps.clusters)
    store.close()
