"""Metrics over hand-built event sequences, with every expected figure worked out by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.analytics import Period, summarize
from assistant.analytics.outcomes import OutcomeTracker
from assistant.analytics.periods import resolve_period
from assistant.errors import InvalidInput
from tests.analytics.events import EventLog, at

SLA = {"vip": 5.0, "member": 15.0, "free": 60.0}
DAY = Period(at("2026-01-05 00:00"), at("2026-01-06 00:00"))
T0 = at("2026-01-05 10:00")
HOUR = 3600.0


def containment_log() -> EventLog:
    log = EventLog()
    c1 = log.start("c1", "u1", T0)
    log.turn(c1, T0 + 10, "answer", intent="refund_request", faq="refund-course")
    log.thanks(c1, T0 + 20)  # confirmed
    c2 = log.start("c2", "u2", T0, tier="member")
    log.turn(c2, T0 + 10, "answer", intent="invoice", faq="invoice-time")  # assumed
    c3 = log.start("c3", "u3", T0, channel="wechat", tier="vip")
    log.turn(c3, T0 + 10, "answer", intent="live_class", faq="live-replay")
    c4 = log.start("c4", "u3", T0 + 5 * HOUR, channel="wechat", tier="vip")
    log.turn(c4, T0 + 5 * HOUR + 10, "answer", intent="live_class", faq="live-replay")  # c3 returned, c4 assumed
    c5 = log.start("c5", "u4", T0, channel="wechat")
    log.turn(c5, T0 + 10, "fallback", text="课程能投屏吗")
    log.turn(c5, T0 + 20, "handoff", intent="human_agent", text="转人工")
    log.handoff(c5, T0 + 20, "t5", reason="repeated_failure")  # handed off
    c6 = log.start("c6", "u5", T0)
    log.turn(c6, T0 + 10, "fallback", text="你们有线下课吗")  # unanswered
    log.start("c7", "u6", T0)  # never said anything: counted, not engaged
    c8 = log.start("c8", "u7", T0)
    log.turn(c8, T0 + 10, "answer", faq="download-how")
    c9 = log.start("c9", "u7", T0 + 25 * HOUR)  # next day, 25 h later: no return, not in the period
    log.turn(c9, T0 + 25 * HOUR + 10, "answer", faq="download-how")
    c10 = log.start("c10", "u8", T0)
    log.turn(c10, T0 + 10, "answer", faq="invoice-e-invoice")
    log.turn(c10, T0 + 20, "fallback", text="我的发票抬头开错了怎么改")
    c11 = log.start("c11", "u8", T0 + 3 * HOUR)
    log.turn(c11, T0 + 3 * HOUR + 10, "fallback", text="发票抬头开错了 怎么改")  # c10 returned; c11 unanswered
    return log


def test_containment_splits_confirmed_and_assumed_and_counts_a_return_within_24_hours() -> None:
    summary = summarize(containment_log().ordered(), DAY, sla_minutes=SLA)
    totals = summary.totals
    assert totals.conversations == 10  # c1..c8, c10, c11 (c9 started the next day)
    assert totals.engaged_conversations == 9
    c = totals.containment
    assert (c.confirmed, c.assumed, c.returned, c.handed_off, c.unanswered) == (1, 3, 2, 1, 2)
    assert c.rate == round(4 / 9, 4)
    assert c.confirmed_rate == round(1 / 9, 4)
    assert c.assumed_rate == round(3 / 9, 4)
    assert totals.handoffs.rate == round(1 / 9, 4)
    assert totals.handoffs.reasons == {"repeated_failure": 1}
    assert totals.turns == 11  # c9 belongs to the next day
    assert totals.turns_by_action == {"answer": 6, "fallback": 4, "handoff": 1}
    assert totals.fallbacks == 4


def test_the_same_intent_counts_as_the_same_question_but_greetings_do_not() -> None:
    log = EventLog()
    a = log.start("a", "u1", T0)
    log.turn(a, T0 + 10, "smalltalk", intent="greeting")
    log.turn(a, T0 + 20, "answer", intent="refund_request", faq="refund-course")
    b = log.start("b", "u1", T0 + HOUR)
    log.turn(b, T0 + HOUR + 10, "smalltalk", intent="greeting")
    log.turn(b, T0 + HOUR + 20, "clarify", intent="refund_request")
    x = log.start("x", "u2", T0)
    log.turn(x, T0 + 10, "answer", intent="greeting", faq=None)
    y = log.start("y", "u2", T0 + HOUR)
    log.turn(y, T0 + HOUR + 10, "smalltalk", intent="greeting")
    c = summarize(log.ordered(), DAY, sla_minutes=SLA).totals.containment
    # a returned (b asked about refunds again); x assumed (only a greeting again); b and y never got an answer.
    assert (c.returned, c.assumed, c.unanswered) == (1, 1, 2)


def test_sla_attainment_and_first_reply_percentiles_per_tier() -> None:
    log = EventLog()
    vip1, vip2 = log.start("v1", "a", T0, tier="vip"), log.start("v2", "b", T0, tier="vip")
    member, free1 = log.start("m1", "c", T0, tier="member"), log.start("f1", "d", T0, tier="free")
    free2 = log.start("f2", "e", T0 + 90 * 60, tier="free")
    log.handoff(vip1, T0, "tv1", deadline=T0 + 300)
    log.handoff(vip2, T0, "tv2", deadline=T0 + 300)
    log.handoff(member, T0, "tm1", deadline=T0 + 900)
    log.handoff(free1, T0, "tf1", deadline=T0 + 3600)
    log.handoff(free2, T0 + 90 * 60, "tf2", deadline=T0 + 90 * 60 + 3600)
    log.first_reply(vip1, T0 + 240, "tv1")  # 4 min: met
    log.first_reply(vip2, T0 + 360, "tv2")  # 6 min: missed
    log.first_reply(member, T0 + 840, "tm1")  # 14 min: met
    # After hours: left at 23:00, the desk opens at 09:00, due 09:15; answered 09:10 -> met, waited 600 s.
    late = log.start("m2", "g", at("2026-01-05 23:00"), tier="member")
    log.handoff(late, at("2026-01-05 23:00"), "tm2", kind="message", deadline=at("2026-01-06 09:15"))
    log.first_reply(late, at("2026-01-06 09:10"), "tm2")
    # Judged at 12:00: tf1 (due 11:00) is late without a reply; tf2 (due 12:30) is still pending.
    summary = summarize(log.ordered(), DAY, sla_minutes=SLA, as_of=T0 + 2 * HOUR)
    vip, mem, free = summary.by_tier["vip"], summary.by_tier["member"], summary.by_tier["free"]
    assert (vip.sla.met, vip.sla.missed, vip.sla.attainment, vip.sla.target_minutes) == (1, 1, 0.5, 5.0)
    assert (vip.first_reply.p50_seconds, vip.first_reply.p90_seconds) == (300.0, 348.0)
    assert (mem.sla.met, mem.sla.missed, mem.sla.attainment) == (2, 0, 1.0)
    assert mem.first_reply.p50_seconds == 720.0  # 840 and 600
    assert (free.sla.met, free.sla.missed, free.sla.pending, free.sla.attainment) == (0, 1, 1, 0.0)
    assert summary.totals.sla.attainment == 0.6  # 3 met of 5 judged (one pending)
    assert summary.totals.handoffs.kinds == {"live": 5, "message": 1}
    assert list(summary.by_tier) == ["free", "member", "vip"]


def test_csat_distribution_average_and_answer_feedback() -> None:
    log = EventLog()
    for i, score in enumerate([5, 5, 4, 1, 3]):
        conv = log.start(f"c{i}", f"u{i}", T0 + i)
        log.csat(conv, T0 + HOUR, score)
    rated = log.start("r", "ur", T0)
    log.turn(rated, T0 + 1, "answer", faq="refund-course")
    for rating in ("up", "up", "down", "up"):
        log.feedback(rated, T0 + 2, rating)
    totals = summarize(log.ordered(), DAY, sla_minutes=SLA).totals
    assert totals.csat.count == 5
    assert totals.csat.average == 3.6
    assert totals.csat.distribution == {"1": 1, "2": 0, "3": 1, "4": 1, "5": 2}
    assert (totals.feedback.up, totals.feedback.down, totals.feedback.useful_rate) == (3, 1, 0.75)
    assert totals.containment.confirmed == 1  # rated useful


def test_filters_by_channel_and_tier_and_breakdowns() -> None:
    events = containment_log().ordered()
    wechat = summarize(events, DAY, sla_minutes=SLA, channel="wechat")
    assert wechat.totals.conversations == 3  # c3, c4, c5
    assert (wechat.totals.containment.returned, wechat.totals.containment.handed_off) == (1, 1)
    assert list(wechat.by_channel) == ["wechat"]
    assert set(wechat.by_tier) == {"vip", "free"}
    vip = summarize(events, DAY, sla_minutes=SLA, tier="vip")
    assert vip.totals.conversations == 2
    assert vip.totals.containment.rate == 0.5  # c4 assumed, c3 returned
    everything = summarize(events, DAY, sla_minutes=SLA)
    assert everything.by_channel["web"].conversations == 7
    assert sum(m.conversations for m in everything.by_tier.values()) == 10


def test_daily_series_counts_conversations_by_the_day_they_started() -> None:
    log = EventLog()
    week = Period(at("2026-01-05 00:00"), at("2026-01-08 00:00"))
    a = log.start("a", "u1", at("2026-01-05 23:30"))
    log.turn(a, at("2026-01-06 00:10"), "answer", faq="x")  # answered after midnight: still the 5th
    b = log.start("b", "u2", at("2026-01-07 09:00"))
    log.turn(b, at("2026-01-07 09:01"), "fallback", text="？？")
    daily = summarize(log.ordered(), week, sla_minutes=SLA).daily
    assert [d.date for d in daily] == ["2026-01-05", "2026-01-06", "2026-01-07"]
    assert [(d.conversations, d.assumed, d.containment_rate) for d in daily] == [(1, 1, 1.0), (0, 0, None), (1, 0, 0.0)]


def test_conversations_before_the_period_are_ignored_and_later_events_of_the_cohort_count() -> None:
    log = EventLog()
    old = log.start("old", "u1", at("2026-01-04 23:00"))
    log.turn(old, at("2026-01-05 01:00"), "answer", faq="x")
    new = log.start("new", "u2", at("2026-01-05 23:50"))
    log.turn(new, at("2026-01-05 23:55"), "handoff", text="投诉")
    log.handoff(new, at("2026-01-05 23:55"), "t", reason="complaint")
    log.csat(new, at("2026-01-06 10:00"), 2)
    totals = summarize(log.ordered(), DAY, sla_minutes=SLA).totals
    assert totals.conversations == 1
    assert totals.csat.distribution["2"] == 1
    assert totals.handoffs.reasons == {"complaint": 1}


def test_outcomes_are_judged_once_the_return_window_closes() -> None:
    judged: list[tuple[str, str]] = []
    tracker = OutcomeTracker(lambda cid, outcome, turns: judged.append((cid, outcome)), window=HOUR)
    for i in range(50):
        tracker.start(f"c{i}", f"u{i}", T0 + i * 600, counted=True)
        tracker.turn(f"c{i}", T0 + i * 600 + 1, "answer", None, "x")
        tracker.advance(T0 + i * 600 + 2)
        assert tracker.open_count <= 8  # only the last hour's conversations are held
    tracker.finish()
    assert len(judged) == 50
    assert {outcome for _, outcome in judged} == {"assumed"}


def test_periods_parse_dates_datetimes_and_reject_nonsense() -> None:
    now = at("2026-01-10 15:00")
    week = resolve_period(None, None, timezone="Asia/Shanghai", now=now)
    assert week.iso() == ("2026-01-04T00:00:00+08:00", "2026-01-11T00:00:00+08:00")
    day = resolve_period("2026-01-05", "2026-01-05", timezone="Asia/Shanghai", now=now)
    assert (day.start, day.end) == (DAY.start, DAY.end)
    utc = resolve_period("2026-01-05T00:00:00Z", "2026-01-05T12:00", timezone="Asia/Shanghai", now=now)
    assert utc.end - utc.start == 4 * HOUR  # 08:00 to 12:00 Shanghai time
    with pytest.raises(InvalidInput, match="ISO date"):
        resolve_period("yesterday", None, timezone="Asia/Shanghai", now=now)
    with pytest.raises(InvalidInput, match="before"):
        resolve_period("2026-01-06", "2026-01-05", timezone="Asia/Shanghai", now=now)
    with pytest.raises(InvalidInput, match="longer"):
        resolve_period("2020-01-01", "2026-01-05", timezone="Asia/Shanghai", now=now)


_BOUNDS = st.one_of(
    st.none(),
    st.text(max_size=40),
    st.dates().map(date.isoformat),
    st.datetimes(timezones=st.sampled_from([None, UTC, ZoneInfo("America/Adak")])).map(datetime.isoformat),
)


@given(start=_BOUNDS, end=_BOUNDS)
@settings(max_examples=300, deadline=None)
def test_any_from_and_to_give_a_period_or_a_clear_error(start: str | None, end: str | None) -> None:
    try:
        period = resolve_period(start, end, timezone="Asia/Shanghai", now=at("2026-01-10 15:00"))
    except InvalidInput:
        return  # a 400 with its message; anything else would be a 500
    assert period.start < period.end
    assert list(period.days())
    assert period.iso()
