"""Typed access to tickets in a Store: create, atomic transitions, the open-ticket index, claim-wait stats."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from assistant.errors import Conflict, NotFound
from handoff.models import (
    ENTRY_FIELDS,
    OPEN_TICKET,
    STATS,
    TICKET,
    QueueEntry,
    Ticket,
    entry_from_doc,
    queue_entry,
    ticket_from_doc,
    to_doc,
)
from handoff.queue import RECENT_WAITS
from storage.ports import Store

_CAS_ATTEMPTS = 50
_BATCH = 200  # one-time upgrades of old data: writes per transaction (SQLite holds its lock meanwhile)
PAGE_ATTEMPTS = 5  # reads of the index for one page while entries behind their tickets are being repaired
_WAITS_ID = "claim_waits"
_RESOLVED_RANKED_ID = "resolved_ranked"  # present once every resolved ticket has its score


class TicketRepository:
    """Tickets are documents of kind `ticket` owned by the user, so export and erasure include them."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def create(self, ticket: Ticket) -> None:
        """Store a new ticket and list it as open (the ticket first: an index entry never precedes its ticket)."""
        self.store.put(TICKET, ticket.id, to_doc(ticket), owner=ticket.user_id)
        self.store.put(OPEN_TICKET, ticket.id, queue_entry(ticket)._asdict(), owner=ticket.user_id)

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
        """Apply `changes` atomically if the ticket still matches `expected`; None otherwise.

        Changes to what the open-ticket index keeps (a claim, a resolution) reach the index entry too, in the same
        transaction where the store has them (SQLite); elsewhere a crash between the two writes leaves an entry
        behind its ticket, which `page` repairs when it shows it. A resolution leaves the index and ranks the
        ticket among the resolved ones by its time.
        """
        resolved_at = changes.get("resolved_at")
        score = float(resolved_at) if isinstance(resolved_at, int | float) else None
        with self.store.write_group():
            doc = self.store.update_if(TICKET, ticket_id, expected, changes, score=score)
            if doc is None:
                return None
            ticket = ticket_from_doc(doc)
            if ENTRY_FIELDS & changes.keys():
                self._reindex(ticket)
        return ticket

    def append_to(self, ticket_id: str, name: str, item: Mapping[str, Any], **changes: Any) -> Ticket:
        """Append `item` to the list field `name` without losing concurrent appends (compare-and-set loop)."""
        for _ in range(_CAS_ATTEMPTS):
            current = self.require(ticket_id)
            items = list(getattr(current, name))
            doc = self.store.update_if(TICKET, ticket_id, {name: items}, {name: [*items, dict(item)], **changes})
            if doc is not None:
                return ticket_from_doc(doc)
        raise Conflict("the ticket is changing too fast; try again")

    def open_entries(self) -> list[QueueEntry]:
        """The index entries of every waiting or assigned ticket, without reading the tickets.

        Entries written before entries carried the queue's fields are completed from their ticket once (and
        dropped, like those of erased or resolved tickets, when the ticket is gone or closed).
        """
        entries, old = [], []
        for doc in self.store.list(OPEN_TICKET):
            entry = entry_from_doc(doc)
            if entry is None:
                old.append(str(doc.get("id", "")))
            else:
                entries.append(entry)
        for start in range(0, len(old), _BATCH):
            with self.store.write_group():  # SQLite: one flush to disk per batch, not one per entry
                completed = [self.refresh(ticket_id) for ticket_id in old[start : start + _BATCH]]
            entries.extend(entry for entry in completed if entry is not None)
        if old:  # back in the store's order (by id), which ties in the assigned list's sort keep
            entries.sort(key=lambda entry: entry.id)
        return entries

    def page(self, entries: Sequence[QueueEntry]) -> list[Ticket] | None:
        """The tickets of these entries, or None after repairing those that no longer match their ticket
        (the caller then reads the index again)."""
        tickets = [self.get(entry.id) for entry in entries]
        stale = [e for e, t in zip(entries, tickets, strict=True) if t is None or queue_entry(t) != e]
        for entry in stale:
            self.refresh(entry.id)
        return None if stale else [t for t in tickets if t is not None]

    def refresh(self, ticket_id: str) -> QueueEntry | None:
        """Rewrite a ticket's index entry from the ticket; None (and no entry) once the ticket is gone or closed."""
        ticket = self.get(ticket_id)
        if ticket is None or not ticket.is_open:
            self.store.delete(OPEN_TICKET, ticket_id)
            return None
        return self._reindex(ticket)

    def _reindex(self, ticket: Ticket) -> QueueEntry | None:
        if not ticket.is_open:
            self.store.delete(OPEN_TICKET, ticket.id)
            return None
        entry = queue_entry(ticket)
        # Never recreates an entry: one that vanished meanwhile went with an erasure or a resolution.
        if self.store.update_if(OPEN_TICKET, ticket.id, {}, entry._asdict()) is None:
            return None
        return entry

    def open_tickets(self) -> list[Ticket]:
        """Every waiting or assigned ticket, read whole (index entries of erased or resolved tickets are cleaned up)."""
        tickets = []
        for entry in self.open_entries():
            ticket = self.get(entry.id)
            if ticket is None or not ticket.is_open:
                self.store.delete(OPEN_TICKET, entry.id)
                continue
            tickets.append(ticket)
        return tickets

    def assigned(self, *, limit: int = 100) -> list[Ticket]:
        """The assigned tickets, claimed first, read whole (only those listed; stale index entries repaired)."""
        for _ in range(PAGE_ATTEMPTS):
            mine = [e for e in self.open_entries() if e.status == "assigned"]
            shown = sorted(mine, key=lambda e: e.claimed_at or 0.0)[: max(0, limit)]
            tickets = self.page(shown)
            if tickets is not None:
                return tickets
        # Still changing under us: what the tickets say, in the order last read.
        return [t for t in map(self.get, (e.id for e in shown)) if t is not None and t.status == "assigned"]

    def resolved(self, *, limit: int = 100) -> list[Ticket]:
        """The most recently resolved tickets, newest first, read off the store's ranking by resolution time."""
        if self.store.get(STATS, _RESOLVED_RANKED_ID) is None:
            self._rank_resolved()
        return [t for t in map(ticket_from_doc, self.store.top(TICKET, limit)) if t.status == "resolved"]

    def _rank_resolved(self) -> None:
        """Rank tickets resolved before resolutions were ranked as they happen (once per store; idempotent)."""
        docs = self.store.list(TICKET, where={"status": "resolved"})
        for start in range(0, len(docs), _BATCH):
            with self.store.write_group():
                for doc in docs[start : start + _BATCH]:
                    score = float(doc.get("resolved_at") or 0.0)
                    self.store.update_if(TICKET, str(doc.get("id", "")), {"status": "resolved"}, {}, score=score)
        self.store.put(STATS, _RESOLVED_RANKED_ID, {"version": 1})

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
