"""Mergeable counters of one (channel, tier) cell, and their conversion into reported metrics."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from assistant.analytics.models import (
    ASSUMED,
    CONFIRMED,
    HANDED_OFF,
    RETURNED,
    UNANSWERED,
    Containment,
    Csat,
    Feedback,
    FirstReply,
    Handoffs,
    SegmentMetrics,
    Sla,
)


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100) with linear interpolation between closest ranks, as numpy's default."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def ratio(part: int, whole: int) -> float | None:
    """part / whole rounded for reports, or None when there is nothing to divide."""
    return round(part / whole, 4) if whole else None


@dataclass
class Tally:
    """Everything counted for one slice of conversations; tallies add up with `merge`."""

    conversations: int = 0
    engaged: int = 0
    turns: int = 0
    actions: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)
    tickets: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    kinds: Counter[str] = field(default_factory=Counter)
    first_replies: list[float] = field(default_factory=list)
    sla_met: int = 0
    sla_missed: int = 0
    sla_pending: int = 0
    csat: Counter[int] = field(default_factory=Counter)
    feedback: Counter[str] = field(default_factory=Counter)
    fallbacks: int = 0
    clarify_asked: int = 0
    clarify_resolved: int = 0

    def merge(self, other: Tally) -> Tally:
        """Add another tally into this one; returns self."""
        self.conversations += other.conversations
        self.engaged += other.engaged
        self.turns += other.turns
        self.actions.update(other.actions)
        self.outcomes.update(other.outcomes)
        self.tickets += other.tickets
        self.reasons.update(other.reasons)
        self.kinds.update(other.kinds)
        self.first_replies.extend(other.first_replies)
        self.sla_met += other.sla_met
        self.sla_missed += other.sla_missed
        self.sla_pending += other.sla_pending
        self.csat.update(other.csat)
        self.feedback.update(other.feedback)
        self.fallbacks += other.fallbacks
        self.clarify_asked += other.clarify_asked
        self.clarify_resolved += other.clarify_resolved
        return self

    def metrics(self, sla_target_minutes: float | None = None) -> SegmentMetrics:
        """The reported figures of this tally."""
        out = self.outcomes
        contained = out[CONFIRMED] + out[ASSUMED]
        handed = out[HANDED_OFF]
        scores = sum(score * n for score, n in self.csat.items())
        rated = sum(self.csat.values())
        judged = self.sla_met + self.sla_missed
        up, down = self.feedback["up"], self.feedback["down"]
        p50, p90 = percentile(self.first_replies, 50), percentile(self.first_replies, 90)
        return SegmentMetrics(
            conversations=self.conversations,
            engaged_conversations=self.engaged,
            turns=self.turns,
            turns_by_action=dict(sorted(self.actions.items())),
            containment=Containment(
                rate=ratio(contained, self.engaged),
                confirmed_rate=ratio(out[CONFIRMED], self.engaged),
                assumed_rate=ratio(out[ASSUMED], self.engaged),
                confirmed=out[CONFIRMED],
                assumed=out[ASSUMED],
                returned=out[RETURNED],
                handed_off=handed,
                unanswered=out[UNANSWERED],
            ),
            handoffs=Handoffs(
                conversations=handed,
                rate=ratio(handed, self.engaged),
                tickets=self.tickets,
                reasons=dict(self.reasons.most_common()),
                kinds=dict(sorted(self.kinds.items())),
            ),
            first_reply=FirstReply(
                count=len(self.first_replies),
                p50_seconds=None if p50 is None else round(p50, 1),
                p90_seconds=None if p90 is None else round(p90, 1),
            ),
            sla=Sla(
                target_minutes=sla_target_minutes,
                met=self.sla_met,
                missed=self.sla_missed,
                pending=self.sla_pending,
                attainment=ratio(self.sla_met, judged),
            ),
            csat=Csat(
                count=rated,
                average=round(scores / rated, 3) if rated else None,
                distribution={str(score): self.csat[score] for score in range(1, 6)},
            ),
            feedback=Feedback(up=up, down=down, useful_rate=ratio(up, up + down)),
            fallbacks=self.fallbacks,
            clarifications_asked=self.clarify_asked,
            clarifications_resolved=self.clarify_resolved,
        )


def merged(tallies: Iterable[Tally]) -> Tally:
    """One tally adding up many."""
    total = Tally()
    for tally in tallies:
        total.merge(tally)
    return total
