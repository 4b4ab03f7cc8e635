"""The analytics report as typed records: per-segment metrics, the daily series, the period summary, gaps."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

# Outcomes of a conversation the bot took part in, most decisive first (a conversation gets exactly one).
HANDED_OFF = "handed_off"  # a person was asked for or brought in
CONFIRMED = "confirmed"  # the user said thanks or rated an answer useful
UNANSWERED = "unanswered"  # the bot never gave an answer (only fallbacks, clarifications or small talk)
RETURNED = "returned"  # the same user came back with the same question within 24 h
ASSUMED = "assumed"  # answered, no handoff, no return: resolved as far as we can tell
OUTCOMES: tuple[str, ...] = (HANDED_OFF, CONFIRMED, UNANSWERED, RETURNED, ASSUMED)


@dataclass(frozen=True)
class Containment:
    """Conversations the bot resolved without a person: confirmed by the user, or assumed."""

    rate: float | None
    confirmed_rate: float | None
    assumed_rate: float | None
    confirmed: int
    assumed: int
    returned: int
    handed_off: int
    unanswered: int


@dataclass(frozen=True)
class Handoffs:
    """Conversations handed to a person, and the tickets opened by reason and kind (live / after hours)."""

    conversations: int
    rate: float | None
    tickets: int
    reasons: dict[str, int]
    kinds: dict[str, int]


@dataclass(frozen=True)
class FirstReply:
    """Time from the handoff (or the desk opening, after hours) to the advisor's first reply."""

    count: int
    p50_seconds: float | None
    p90_seconds: float | None


@dataclass(frozen=True)
class Sla:
    """First replies within the tier's promise; `pending` tickets are unanswered but not yet late."""

    target_minutes: float | None
    met: int
    missed: int
    pending: int
    attainment: float | None


@dataclass(frozen=True)
class Csat:
    """The users' 1-5 ratings of human help."""

    count: int
    average: float | None
    distribution: dict[str, int]


@dataclass(frozen=True)
class Feedback:
    """Thumbs up/down on bot answers."""

    up: int
    down: int
    useful_rate: float | None


@dataclass(frozen=True)
class SegmentMetrics:
    """Every metric of one slice of conversations (all of them, one channel, or one tier)."""

    conversations: int
    engaged_conversations: int
    turns: int
    turns_by_action: dict[str, int]
    containment: Containment
    handoffs: Handoffs
    first_reply: FirstReply
    sla: Sla
    csat: Csat
    feedback: Feedback
    fallbacks: int
    clarifications_asked: int
    clarifications_resolved: int


@dataclass(frozen=True)
class DayPoint:
    """One day of the containment chart (conversations by the day they started)."""

    date: str
    conversations: int
    engaged: int
    confirmed: int
    assumed: int
    handed_off: int
    containment_rate: float | None


@dataclass(frozen=True)
class Summary:
    """Metrics of the conversations started in a period, overall, per channel and per tier, and per day."""

    start: str
    end: str
    timezone: str
    channel: str | None
    tier: str | None
    totals: SegmentMetrics
    by_channel: dict[str, SegmentMetrics]
    by_tier: dict[str, SegmentMetrics]
    daily: list[DayPoint]
    events_read: int
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """The JSON form the API returns."""
        return asdict(self)


@dataclass(frozen=True)
class GapExample:
    """One distinct question of a gap cluster, with how often it was asked."""

    text: str
    count: int
    source: str  # fallback | handoff


@dataclass(frozen=True)
class Proposal:
    """An FAQ entry an admin can publish: the cluster's question and an advisor's answer from a resolved ticket."""

    ticket_id: str
    question: str
    answer: str
    locale: str
    candidate_id: str | None = None
    candidate_status: str | None = None


@dataclass(frozen=True)
class GapCluster:
    """Questions the bot could not answer that mean the same thing."""

    id: str
    title: str
    size: int
    distinct: int
    conversations: int
    fallbacks: int
    handoffs: int
    first_at: float
    last_at: float
    examples: list[GapExample]
    proposal: Proposal | None = None


@dataclass(frozen=True)
class GapReport:
    """The knowledge gaps of a period, biggest first."""

    start: str
    end: str
    texts: int
    distinct_texts: int
    clusters: list[GapCluster] = field(default_factory=list)
    truncated: bool = False
    embedding: bool = True
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """The JSON form the API returns."""
        return asdict(self)
