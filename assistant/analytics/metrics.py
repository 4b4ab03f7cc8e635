"""Support metrics of a period from the analytics events, in one streaming pass (pure: events in, Summary out).

Conversations are counted in the period they *started* in (a cohort); their later events (answers, handoffs,
first replies, ratings) count for them up to OUTCOME_GRACE after the period, so a late reply is not lost.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from assistant import events as ev
from assistant.analytics.models import ASSUMED, CONFIRMED, HANDED_OFF, DayPoint, SegmentMetrics, Summary
from assistant.analytics.outcomes import RETURN_WINDOW, OutcomeTracker
from assistant.analytics.periods import DayBucketer, Period
from assistant.analytics.tally import Tally, merged, ratio
from storage.ports import StoredEvent

# After-hours messages left on a Friday night are answered on Monday: outcomes are looked for this long.
OUTCOME_GRACE = 3 * 86400.0
SUMMARY_EVENTS: tuple[str, ...] = (
    ev.CONVERSATION_STARTED,
    ev.TURN,
    ev.FALLBACK,
    ev.TURN_UNRESOLVED,
    ev.CLARIFY_ASKED,
    ev.CLARIFY_RESOLVED,
    ev.RESOLUTION_CONFIRMED,
    ev.FEEDBACK,
    ev.HANDOFF,
    ev.AGENT_FIRST_REPLY,
    ev.CSAT,
)
_UNKNOWN = "unknown"

Cell = tuple[str, str]  # (channel, tier)


def reading_window(period: Period) -> tuple[float, float]:
    """The time range of events a summary of `period` reads (the period plus the grace for late outcomes)."""
    return period.start, period.end + OUTCOME_GRACE


@dataclass(slots=True)
class _Ticket:
    cell: Cell
    tier: str
    created_at: float
    deadline: float | None
    kind: str


class _Pass:
    """The state of one pass over the events."""

    def __init__(self, period: Period, sla_minutes: Mapping[str, float]) -> None:
        self.period = period
        self.sla_minutes = sla_minutes
        self.cells: dict[Cell, Tally] = {}
        self.cell_keys: dict[Cell, Cell] = {}
        self.daily: dict[tuple[str, Cell], list[int]] = {}
        self.cohort: dict[str, tuple[Cell, str]] = {}  # conversation id -> (cell, start day)
        self.tickets: dict[str, _Ticket] = {}
        self.day_of = DayBucketer(period.timezone)
        self.tracker = OutcomeTracker(self._judged)
        self.read = 0

    def tally(self, conversation_id: str) -> Tally | None:
        entry = self.cohort.get(conversation_id)
        return self.cells[entry[0]] if entry is not None else None

    def _cell(self, data: Mapping[str, object]) -> Cell:
        key = (str(data.get("channel") or _UNKNOWN), str(data.get("tier") or _UNKNOWN))
        cell = self.cell_keys.setdefault(key, key)  # one shared tuple per cell, not one per conversation
        if cell not in self.cells:
            self.cells[cell] = Tally()
        return cell

    def _judged(self, conversation_id: str, outcome: str, turns: int) -> None:
        cell, day = self.cohort[conversation_id]
        tally = self.cells[cell]
        tally.conversations += 1
        row = self.daily.setdefault((day, cell), [0, 0, 0, 0, 0])
        row[0] += 1
        if outcome:
            tally.engaged += 1
            tally.outcomes[outcome] += 1
            row[1] += 1
            row[2] += outcome == CONFIRMED
            row[3] += outcome == ASSUMED
            row[4] += outcome == HANDED_OFF

    def feed(self, event: StoredEvent) -> None:
        self.read += 1
        self.tracker.advance(event.at)
        kind, cid, data = event.type, event.conversation_id, event.data
        if kind == ev.CONVERSATION_STARTED:
            if self.period.contains(event.at):
                self.cohort[cid] = (self._cell(data), self.day_of(event.at))
                self.tracker.start(cid, event.user_id, event.at, counted=True)
            elif self.period.end <= event.at < self.period.end + RETURN_WINDOW:
                self.tracker.start(cid, event.user_id, event.at, counted=False)
            return
        if kind == ev.TURN:
            action = str(data.get("action") or "")
            self.tracker.turn(cid, event.at, action, _opt(data.get("intent")), _opt(data.get("faq_id")))
            if (tally := self.tally(cid)) is not None:
                tally.turns += 1
                tally.actions[action] += 1
        elif kind in (ev.FALLBACK, ev.TURN_UNRESOLVED):
            self.tracker.text(cid, event.at, str(data.get("text") or ""))
            if kind == ev.FALLBACK and (tally := self.tally(cid)) is not None:
                tally.fallbacks += 1
        elif kind == ev.RESOLUTION_CONFIRMED:
            self.tracker.confirm(cid)
        elif kind == ev.HANDOFF:
            self.tracker.hand_off(cid)
            self._handoff(event)
        elif kind == ev.AGENT_FIRST_REPLY:
            self._first_reply(event)
        elif (tally := self.tally(cid)) is not None:
            self._simple(tally, kind, data)

    @staticmethod
    def _simple(tally: Tally, kind: str, data: Mapping[str, object]) -> None:
        if kind == ev.CLARIFY_ASKED:
            tally.clarify_asked += 1
        elif kind == ev.CLARIFY_RESOLVED:
            tally.clarify_resolved += 1
        elif kind == ev.FEEDBACK and data.get("rating") in ("up", "down"):
            tally.feedback[str(data["rating"])] += 1
        elif kind == ev.CSAT and isinstance(score := data.get("score"), int) and 1 <= score <= 5:
            tally.csat[score] += 1

    def _handoff(self, event: StoredEvent) -> None:
        entry = self.cohort.get(event.conversation_id)
        if entry is None:
            return
        data = event.data
        tally = self.cells[entry[0]]
        kind = str(data.get("kind") or "live")
        tally.tickets += 1
        tally.reasons[str(data.get("reason") or _UNKNOWN)] += 1
        tally.kinds[kind] += 1
        deadline = data.get("sla_deadline")
        tier = str(data.get("tier") or entry[0][1])
        self.tickets[str(data.get("ticket_id") or "")] = _Ticket(
            entry[0], tier, event.at, float(deadline) if isinstance(deadline, int | float) else None, kind
        )

    def _budget(self, tier: str) -> float:
        return self.sla_minutes.get(tier, self.sla_minutes.get("free", 60.0)) * 60.0

    def _first_reply(self, event: StoredEvent) -> None:
        ticket = self.tickets.pop(str(event.data.get("ticket_id") or ""), None)
        if ticket is None:
            return
        budget = self._budget(ticket.tier)
        deadline = ticket.deadline if ticket.deadline is not None else ticket.created_at + budget
        # The SLA clock starts when the desk opens for after-hours messages: measure the wait the same way.
        clock_start = max(ticket.created_at, deadline - budget) if ticket.kind == "message" else ticket.created_at
        tally = self.cells[ticket.cell]
        tally.first_replies.append(max(0.0, event.at - clock_start))
        if event.at <= deadline:
            tally.sla_met += 1
        else:
            tally.sla_missed += 1

    def finish(self, as_of: float) -> None:
        self.tracker.finish()
        for ticket in self.tickets.values():
            deadline = ticket.deadline if ticket.deadline is not None else ticket.created_at + self._budget(ticket.tier)
            tally = self.cells[ticket.cell]
            if as_of > deadline:
                tally.sla_missed += 1
            else:
                tally.sla_pending += 1


def _opt(value: object) -> str | None:
    return str(value) if value else None


def summarize(
    events: Iterable[StoredEvent],
    period: Period,
    *,
    sla_minutes: Mapping[str, float],
    channel: str | None = None,
    tier: str | None = None,
    as_of: float | None = None,
) -> Summary:
    """The metrics of conversations started in `period` (optionally of one channel / tier).

    `events` must be time-ordered and cover `reading_window(period)`; `as_of` is the moment unanswered
    tickets are judged against their SLA (default: the end of that window).
    """
    began = time.perf_counter()
    state = _Pass(period, sla_minutes)
    for event in events:
        state.feed(event)
    state.finish(as_of if as_of is not None else period.end + OUTCOME_GRACE)
    wanted = [
        cell for cell in state.cells if (channel is None or cell[0] == channel) and (tier is None or cell[1] == tier)
    ]

    def metrics_of(cells: Iterable[Cell], target: float | None = None) -> SegmentMetrics:
        return merged(state.cells[c] for c in cells).metrics(target)

    channels = sorted({c[0] for c in wanted})
    tiers = sorted({c[1] for c in wanted}, key=lambda t: (t not in sla_minutes, t))
    return Summary(
        start=period.iso()[0],
        end=period.iso()[1],
        timezone=period.timezone,
        channel=channel,
        tier=tier,
        totals=metrics_of(wanted),
        by_channel={ch: metrics_of(c for c in wanted if c[0] == ch) for ch in channels},
        by_tier={t: metrics_of((c for c in wanted if c[1] == t), sla_minutes.get(t)) for t in tiers},
        daily=_daily(state, period, set(wanted)),
        events_read=state.read,
        seconds=round(time.perf_counter() - began, 4),
    )


def _daily(state: _Pass, period: Period, wanted: set[Cell]) -> list[DayPoint]:
    rows: dict[str, list[int]] = {day: [0, 0, 0, 0, 0] for day in period.days()}
    for (day, cell), counts in state.daily.items():
        if cell in wanted and day in rows:
            rows[day] = [a + b for a, b in zip(rows[day], counts, strict=True)]
    return [
        DayPoint(
            date=day,
            conversations=r[0],
            engaged=r[1],
            confirmed=r[2],
            assumed=r[3],
            handed_off=r[4],
            containment_rate=ratio(r[2] + r[3], r[1]),
        )
        for day, r in rows.items()
    ]
