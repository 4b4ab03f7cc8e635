"""Typed access to tickets in a Store: create, atomic transitions, the open-ticket index, claim-wait stats."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from assistant.errors import Conflict, NotFound
from handoff.models import OPEN_TICKET, STATS, TICKET, Ticket, ticket_from_doc, to_doc
from handoff.queue import RECENT_WAITS
from storage.ports import Store

_CAS_ATTEMPTS = 50
_WAITS_ID = "claim_waits"


class TicketRepository:
    """Tickets are documents of kind `ticket` owned by the user, so export and erasure include them."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def create(self, ticket: Ticket) -> None:
        """Store a new ticket and list it as open."""
        self.store.put(TICKET, ticket.id, to_doc(ticket), owner=ticket.user_id)
        self.store.put(OPEN_TICKET, ticket.id, {"id": ticket.id}, owner=ticket.user_id)

    def discard(self, ticket_id: str) -> None:
        """Remove a ticket that never became visible (it lost an escalation race)."""
        self.store.delete(OPEN_TICKET, ticket_id)
        self.store.delete(TICKET, ticket_id)

    def get(self, ticket_id: str) -> Ticket | None:
        """A ticket, or None."""
        doc = self.store.get(TICKET, ticket_id)
        return ticket_from_doc(doc) if doc else None

    def require(self, ticket_id: str) -> Ticket:
        """A ticket, or NotFound."""
        ticket = self.get(ticket_id)
        if ticket is None:
            raise NotFound("ticket not found")
        return ticket

    def transition(self, ticket_id: str, expected: Mapping[str, Any], changes: Mapping[str, Any]) -> Ticket | None:
        """Apply `changes` atomically if the ticket still matches `expected`; None otherwise."""
        doc = self.store.update_if(TICKET, ticket_id, expected, changes)
        return ticket_from_doc(doc) if doc else None

    def append_to(self, ticket_id: str, name: str, item: Mapping[str, Any], **changes: Any) -> Ticket:
        """Append `item` to the list field `name` without losing concurrent appends (compare-and-set loop)."""
        for _ in range(_CAS_ATTEMPTS):
            current = self.require(ticket_id)
            items = list(getattr(current, name))
            doc = self.store.update_if(TICKET, ticket_id, {name: items}, {name: [*items, dict(item)], **changes})
            if doc is not None:
                return ticket_from_doc(doc)
        raise Conflict("the ticket is changing too fast; try again")

    def close(self, ticket_id: str) -> None:
        """Drop a resolved ticket from the open index."""
        self.store.delete(OPEN_TICKET, ticket_id)

    def open_tickets(self) -> list[Ticket]:
        """Every waiting or assigned ticket (index entries of erased or resolved tickets are cleaned up)."""
        tickets = []
        for entry in self.store.list(OPEN_TICKET):
            ticket = self.get(str(entry.get("id", "")))
            if ticket is None or not ticket.is_open:
                self.store.delete(OPEN_TICKET, str(entry.get("id", "")))
                continue
            tickets.append(ticket)
        return tickets

    def resolved(self, *, limit: int = 100) -> list[Ticket]:
        """The most recently resolved tickets, newest first."""
        docs = self.store.list(TICKET, where={"status": "resolved"})
        tickets = sorted((ticket_from_doc(d) for d in docs), key=lambda t: t.resolved_at or 0.0, reverse=True)
        return tickets[:limit]

    def of_conversation(self, user_id: str, conversation_id: str) -> list[Ticket]:
        """A conversation's tickets, oldest first."""
        docs = self.store.list(TICKET, owner=user_id, where={"conversation_id": conversation_id})
        return sorted((ticket_from_doc(d) for d in docs), key=lambda t: t.created_at)

    def record_wait(self, seconds: float) -> None:
        """Remember how long a live ticket waited before it was claimed (the last few only)."""
        for _ in range(_CAS_ATTEMPTS):
            doc = self.store.get(STATS, _WAITS_ID)
            if doc is None:
                self.store.put(STATS, _WAITS_ID, {"waits": []})
                continue
            waits = list(doc.get("waits", []))
            fresh = [*waits, round(seconds, 1)][-RECENT_WAITS:]
            if self.store.update_if(STATS, _WAITS_ID, {"waits": waits}, {"waits": fresh}) is not None:
                return
        # Losing a sample under heavy contention only makes the estimate slightly staler.

    def recent_waits(self) -> list[float]:
        """Recent claim waits in seconds, oldest first."""
        doc = self.store.get(STATS, _WAITS_ID)
        return [float(w) for w in (doc or {}).get("waits", [])]
