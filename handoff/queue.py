"""The advisors' queue: priority order, first-reply SLA per tier, breach flags and wait estimates (pure)."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from assistant.auth import TIER_RANK
from handoff.hours import BusinessHours
from handoff.models import Ticket, TicketKind

DEFAULT_SLA_MINUTES: Mapping[str, float] = {"vip": 5.0, "member": 15.0, "free": 60.0}
DEFAULT_WAIT_PER_POSITION = 120.0
# Estimates from fewer claims than this are noise; beyond these bounds they mislead more than they help.
MIN_WAIT_SAMPLES = 3
WAIT_BOUNDS = (30.0, 1800.0)
RECENT_WAITS = 20


@dataclass(frozen=True)
class SlaStatus:
    """Where a ticket stands against its first-reply deadline."""

    deadline: float
    remaining_seconds: float
    breached: bool


def sla_deadline(
    tier: str, created_at: float, kind: TicketKind, minutes: Mapping[str, float], hours: BusinessHours
) -> float:
    """First-reply deadline; a message left after hours is due that long after the desk opens."""
    budget = minutes.get(tier, minutes.get("free", DEFAULT_SLA_MINUTES["free"])) * 60.0
    start = hours.next_open(created_at) if kind == "message" else created_at
    return start + budget


def sla_status(ticket: Ticket, now: float) -> SlaStatus:
    """Remaining time until (or past) the deadline; frozen once the advisor has replied."""
    reference = ticket.first_reply_at if ticket.first_reply_at is not None else now
    remaining = ticket.sla_deadline - reference
    return SlaStatus(ticket.sla_deadline, round(remaining, 1), remaining < 0)


class Queued(Protocol):
    """What the queue's order reads of a ticket (a `Ticket` or its index entry)."""

    @property
    def id(self) -> str: ...
    @property
    def tier(self) -> str: ...
    @property
    def created_at(self) -> float: ...
    @property
    def status(self) -> str: ...


Q = TypeVar("Q", bound=Queued)


def priority_key(ticket: Queued) -> tuple[int, float, str]:
    """vip before member before free, then who has waited longest."""
    return (TIER_RANK.get(ticket.tier, len(TIER_RANK)), ticket.created_at, ticket.id)


def queue_order(tickets: Iterable[Q]) -> list[Q]:
    """Waiting tickets in the order advisors should take them."""
    return sorted((t for t in tickets if t.status == "waiting"), key=priority_key)


def wait_per_position(recent_waits: Sequence[float], default: float = DEFAULT_WAIT_PER_POSITION) -> float:
    """Expected seconds per place in the queue: the median recent claim wait, or `default` when too few."""
    if len(recent_waits) < MIN_WAIT_SAMPLES:
        return default
    low, high = WAIT_BOUNDS
    return min(high, max(low, statistics.median(recent_waits)))


def estimate_wait(position: int, per_position: float) -> float:
    """Estimated seconds until a ticket at `position` (1 = next) is claimed."""
    return max(1, position) * per_position


def ticket_view(ticket: Ticket, now: float, *, position: int | None = None, eta: float | None = None) -> dict[str, Any]:
    """What consoles see of a ticket in lists and live events (no packet, no transcript, no notes)."""
    sla = sla_status(ticket, now)
    return {
        "id": ticket.id,
        "conversation_id": ticket.conversation_id,
        "kind": ticket.kind,
        "status": ticket.status,
        "user_id": ticket.user_id,
        "user_name": ticket.user_name,
        "tier": ticket.tier,
        "channel": ticket.channel,
        "locale": ticket.locale,
        "reason": ticket.reason,
        "summary": ticket.summary,
        "preview": ticket.preview,
        "created_at": ticket.created_at,
        "waiting_seconds": round(max(0.0, (ticket.claimed_at or now) - ticket.created_at), 1),
        "sla_deadline": sla.deadline,
        "sla_remaining_seconds": sla.remaining_seconds,
        "breached": sla.breached,
        "queue_position": position,
        "eta_seconds": None if eta is None else round(eta),
        "assigned_to": ticket.assigned_to,
        "assigned_name": ticket.assigned_name,
        "claimed_at": ticket.claimed_at,
        "first_reply_at": ticket.first_reply_at,
        "last_user_message_at": ticket.last_user_message_at,
        "resolved_at": ticket.resolved_at,
        "csat": ticket.csat,
    }
