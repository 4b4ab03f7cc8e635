"""Tickets and FAQ candidates as typed records, and their JSON document forms."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Literal, NamedTuple

TicketStatus = Literal["waiting", "assigned", "resolved"]
TicketKind = Literal["live", "message"]  # `message`: left outside business hours, answered later
CandidateStatus = Literal["pending", "publishing", "published"]
STATUSES: tuple[TicketStatus, ...] = ("waiting", "assigned", "resolved")

TICKET = "ticket"
OPEN_TICKET = "ticket_open"  # small index of unresolved tickets, so the queue never scans closed ones
CANDIDATE = "kb_candidate"
AGENT = "agent"
STATS = "handoff_stats"


@dataclass
class Ticket:
    """A conversation handed to the success advisors, with the handoff packet they need to take it over."""

    id: str
    conversation_id: str
    user_id: str
    tier: str
    channel: str
    reason: str
    summary: str
    created_at: float
    sla_deadline: float
    kind: TicketKind = "live"
    status: TicketStatus = "waiting"
    user_name: str = ""
    locale: str | None = None
    packet: dict[str, Any] = field(default_factory=dict)
    preview: str = ""  # the user's latest message, for the queue
    queue_position: int = 0  # at creation; views recompute it for waiting tickets
    eta_seconds: float = 0.0
    assigned_to: str | None = None
    assigned_name: str | None = None
    claimed_at: float | None = None
    first_reply_at: float | None = None
    last_user_message_at: float | None = None
    last_agent_message_at: float | None = None
    resolved_at: float | None = None
    resolved_by: str | None = None
    resolution_note: str = ""
    notes: list[dict[str, Any]] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    csat: int | None = None
    candidate_id: str | None = None

    @property
    def is_open(self) -> bool:
        """True until the ticket is resolved."""
        return self.status != "resolved"


class QueueEntry(NamedTuple):
    """A ticket's entry in the open-ticket index: what the queue's order, positions and wait estimates read,
    so that placing a ticket or showing the queue never reads the other tickets' packets."""

    id: str
    conversation_id: str
    tier: str
    kind: TicketKind
    status: TicketStatus
    created_at: float
    sla_deadline: float
    claimed_at: float | None = None


ENTRY_FIELDS = frozenset(QueueEntry._fields)


def queue_entry(ticket: Ticket) -> QueueEntry:
    """The index entry a ticket should have."""
    return QueueEntry(
        ticket.id,
        ticket.conversation_id,
        ticket.tier,
        ticket.kind,
        ticket.status,
        ticket.created_at,
        ticket.sla_deadline,
        ticket.claimed_at,
    )


def entry_from_doc(doc: Mapping[str, Any]) -> QueueEntry | None:
    """An index entry from its document; None for an entry written before entries carried these fields."""
    try:  # every queue read makes one per open ticket: spelled out, this is 3x faster than by field names
        return QueueEntry(
            doc["id"],
            doc["conversation_id"],
            doc["tier"],
            doc["kind"],
            doc["status"],
            doc["created_at"],
            doc["sla_deadline"],
            doc["claimed_at"],
        )
    except KeyError:
        return None


@dataclass
class Candidate:
    """An FAQ entry proposed from a resolved ticket, waiting for an admin to review and publish it."""

    id: str
    ticket_id: str
    conversation_id: str
    user_id: str
    question: str
    answer: str
    created_by: str
    category: str = ""
    locale: str = "zh"
    status: CandidateStatus = "pending"
    created_at: float = field(default_factory=time.time)
    updated_at: float = field(default_factory=time.time)
    published_at: float | None = None
    published_by: str | None = None
    published_version: str | None = None
    faq_id: str | None = None


def to_doc(record: Ticket | Candidate) -> dict[str, Any]:
    """The JSON document of a record (the store serialises it at once: no deep copy of the packet needed)."""
    return {f.name: getattr(record, f.name) for f in fields(record)}


def ticket_from_doc(doc: Mapping[str, Any]) -> Ticket:
    """A ticket from its document (unknown fields ignored, so old documents keep loading)."""
    return Ticket(**{k: v for k, v in doc.items() if k in _TICKET_FIELDS})


def candidate_from_doc(doc: Mapping[str, Any]) -> Candidate:
    """A candidate from its document."""
    return Candidate(**{k: v for k, v in doc.items() if k in _CANDIDATE_FIELDS})


_TICKET_FIELDS = frozenset(f.name for f in fields(Ticket))
_CANDIDATE_FIELDS = frozenset(f.name for f in fields(Candidate))
