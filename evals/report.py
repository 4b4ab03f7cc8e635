"""The weekly support review as markdown: the same summary as `GET /v1/analytics/summary`, from a store.

    python -m evals report --from 2026-01-05 --to 2026-01-11 [--store-url URL] [--out FILE.md]
        [--channel web] [--tier vip] [--gaps 10]

Without `--from`/`--to` it covers the last 7 days; the store defaults to the configured one (Settings).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from assistant.analytics import AnalyticsService, SegmentMetrics, Summary
from assistant.analytics.models import GapReport
from assistant.errors import AssistantError
from assistant.settings import get_settings


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def _secs(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.0f} s" if value < 90 else f"{value / 60:.1f} min"


def _num(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _segment_rows(rows: dict[str, SegmentMetrics]) -> list[str]:
    lines = [
        "| segment | conversations | containment | confirmed | assumed | handoff | first reply p50/p90 | SLA | CSAT |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, m in rows.items():
        c = m.containment
        lines.append(
            f"| {name} | {m.conversations} | {_pct(c.rate)} | {_pct(c.confirmed_rate)} | {_pct(c.assumed_rate)} | "
            f"{_pct(m.handoffs.rate)} | {_secs(m.first_reply.p50_seconds)} / {_secs(m.first_reply.p90_seconds)} | "
            f"{_pct(m.sla.attainment)} | {_num(m.csat.average)} |"
        )
    return lines


def render_markdown(summary: Summary, gaps: GapReport | None = None) -> str:
    """The summary (and optionally the top knowledge gaps) as a markdown review."""
    t = summary.totals
    c = t.containment
    scope = ", ".join(f"{k} = {v}" for k, v in (("channel", summary.channel), ("tier", summary.tier)) if v)
    lines = [
        f"# Support review {summary.start[:10]} – {summary.end[:16]} ({summary.timezone})",
        "",
        f"Conversations started in [{summary.start}, {summary.end}){f'; {scope}' if scope else ''}. "
        f"{summary.events_read} events read in {summary.seconds} s.",
        "",
        "## Headline",
        "",
        "| metric | value |",
        "|---|---|",
        f"| conversations (with a user turn) | {t.conversations} ({t.engaged_conversations}) |",
        f"| containment | **{_pct(c.rate)}**: confirmed {_pct(c.confirmed_rate)} + assumed {_pct(c.assumed_rate)} |",
        f"| not contained | handed off {c.handed_off}, returned within 24 h {c.returned}, unanswered {c.unanswered} |",
        f"| handoff rate | {_pct(t.handoffs.rate)} ({t.handoffs.tickets} tickets) |",
        f"| first human reply p50 / p90 | {_secs(t.first_reply.p50_seconds)} / {_secs(t.first_reply.p90_seconds)} |",
        f"| first-reply SLA attainment | {_pct(t.sla.attainment)} ({t.sla.met} met, {t.sla.missed} missed, "
        f"{t.sla.pending} pending) |",
        f"| CSAT | {_num(t.csat.average)} from {t.csat.count} ratings |",
        f"| useful answers | {_pct(t.feedback.useful_rate)} ({t.feedback.up} up, {t.feedback.down} down) |",
        f"| fallbacks / clarifications | {t.fallbacks} / {t.clarifications_asked} asked, "
        f"{t.clarifications_resolved} resolved |",
        "",
        "## First-reply SLA per tier",
        "",
        "| tier | promise | met | missed | pending | attainment | p50 | p90 |",
        "|---|---|---|---|---|---|---|---|",
        *[
            f"| {tier} | {_num(m.sla.target_minutes, 0)} min | {m.sla.met} | {m.sla.missed} | {m.sla.pending} | "
            f"{_pct(m.sla.attainment)} | {_secs(m.first_reply.p50_seconds)} | {_secs(m.first_reply.p90_seconds)} |"
            for tier, m in summary.by_tier.items()
        ],
        "",
        "## Handoff reasons",
        "",
        "| reason | tickets |",
        "|---|---|",
        *[f"| {reason} | {n} |" for reason, n in t.handoffs.reasons.items()],
        "",
        "## CSAT distribution",
        "",
        "| score | 1 | 2 | 3 | 4 | 5 |",
        "|---|---|---|---|---|---|",
        "| ratings | " + " | ".join(str(t.csat.distribution[str(s)]) for s in range(1, 6)) + " |",
        "",
        "## By channel",
        "",
        *_segment_rows(summary.by_channel),
        "",
        "## By tier",
        "",
        *_segment_rows(summary.by_tier),
        "",
        "## Containment per day",
        "",
        "| day | conversations | engaged | confirmed | assumed | handed off | containment |",
        "|---|---|---|---|---|---|---|",
        *[
            f"| {d.date} | {d.conversations} | {d.engaged} | {d.confirmed} | {d.assumed} | {d.handed_off} | "
            f"{_pct(d.containment_rate)} |"
            for d in summary.daily
        ],
    ]
    if gaps is not None:
        lines += [
            "",
            "## Knowledge gaps",
            "",
            f"{gaps.texts} unanswered questions, {gaps.distinct_texts} distinct.",
            "",
        ]
        lines += ["| # | asked | question | examples | proposed answer |", "|---|---|---|---|---|"]
        for rank, cluster in enumerate(gaps.clusters, start=1):
            examples = "; ".join([e.text for e in cluster.examples if e.text != cluster.title][:3]).replace("|", "/")
            answer = (cluster.proposal.answer[:80] + "…") if cluster.proposal else "–"
            lines.append(
                f"| {rank} | {cluster.size} | {cluster.title.replace('|', '/')} | {examples} | "
                f"{answer.replace('|', '/').replace(chr(10), ' ')} |"
            )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Write the review for a period to a file or stdout."""
    parser = argparse.ArgumentParser(prog="python -m evals report", description=__doc__.split("\n")[0])
    parser.add_argument("--from", dest="start", help="first day (YYYY-MM-DD) or datetime; default 6 days ago")
    parser.add_argument("--to", dest="end", help="last day (included) or datetime (excluded); default today")
    parser.add_argument("--store-url", help="sqlite:///path.db or redis://host:port/db (default: Settings)")
    parser.add_argument("--out", type=Path, help="markdown file to write (default: stdout)")
    parser.add_argument("--channel", help="only conversations of this channel")
    parser.add_argument("--tier", choices=("vip", "member", "free"), help="only users of this tier")
    parser.add_argument("--gaps", type=int, default=0, help="also list the N biggest knowledge gaps")
    args = parser.parse_args(argv)

    from storage.factory import open_store

    settings = get_settings()
    embedder = None
    if args.gaps > 0:
        from assistant.st_embedder import load_embedder

        embedder = load_embedder(
            settings.embedding_model, settings.embedding_backend, cache_dir=settings.model_cache_dir
        )
    store = open_store(args.store_url or settings.resolved_store_url)
    try:
        service = AnalyticsService(
            store,
            sla_minutes={tier: settings.sla_minutes(tier) for tier in ("vip", "member", "free")},
            timezone=settings.timezone,
            embedder=embedder,
        )
        period = service.period(args.start, args.end)
        summary = service.summary(period, channel=args.channel, tier=args.tier)
        gaps = service.gaps(period, limit=args.gaps) if args.gaps > 0 else None
    except AssistantError as exc:
        sys.stderr.write(f"error: {exc.message}\n")
        return 2
    finally:
        store.close()
    markdown = render_markdown(summary, gaps)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(markdown, encoding="utf-8")
        sys.stderr.write(f"wrote {args.out}\n")
    else:
        sys.stdout.write(markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
