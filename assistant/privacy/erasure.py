"""Erasure: remove a user, or one of their conversations, from every store the assistant writes to."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from assistant.chat import TurnLock
from assistant.conversations import CONVERSATION
from assistant.errors import Conflict, Unavailable
from assistant.live import publish_ticket
from assistant.privacy.keys import KEY_LEDGER, KeyLedger
from handoff.models import TICKET
from storage.ports import EventBus, Store

log = logging.getLogger(__name__)

OPEN_STATUSES = ("waiting", "assigned")
LOCK_WAIT_SECONDS = 5.0  # a turn in flight finishes within this; a stuck one does not block the erasure


class ExtraEraser(Protocol):
    """A component's own erasure (e.g. a channel's keys by openid); returns how many items it removed."""

    def __call__(self, user_id: str, conversation_ids: Sequence[str], *, whole_user: bool) -> int: ...


@dataclass
class ErasureReport:
    """What an erasure removed: counts only, so it can be shown and audited without personal data."""

    conversations: int = 0
    messages: int = 0
    events: int = 0
    documents: dict[str, int] = field(default_factory=dict)
    withdrawn_tickets: int = 0
    other: int = 0

    @property
    def empty(self) -> bool:
        """True when nothing was stored."""
        return not (self.messages or self.events or self.documents or self.other)

    def removed(self, kind: str) -> None:
        """Count one removed document."""
        self.documents[kind] = self.documents.get(kind, 0) + 1
        if kind == CONVERSATION:
            self.conversations += 1

    def merge(self, other: ErasureReport) -> None:
        """Add another report's counts to this one."""
        self.conversations += other.conversations
        self.messages += other.messages
        self.events += other.events
        self.withdrawn_tickets += other.withdrawn_tickets
        self.other += other.other
        for kind, count in other.documents.items():
            self.documents[kind] = self.documents.get(kind, 0) + count

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "conversations": self.conversations,
            "messages": self.messages,
            "events": self.events,
            "documents": dict(sorted(self.documents.items())),
            "withdrawn_tickets": self.withdrawn_tickets,
            "other": self.other,
        }

    def totals(self) -> dict[str, int]:
        """Flat counts for the audit log."""
        return {
            "conversations": self.conversations,
            "messages": self.messages,
            "events": self.events,
            "documents": sum(self.documents.values()),
            "withdrawn_tickets": self.withdrawn_tickets,
            "other": self.other,
        }


class Eraser:
    """Deletes by owner (every document kind, present or future), by conversation (logs, events) and by key
    (the keys a user's `KeyLedger` entries name)."""

    def __init__(
        self,
        store: Store,
        bus: EventBus,
        *,
        extra: Callable[[], Sequence[ExtraEraser]] = tuple,
        on_queue_change: Callable[[], None] | None = None,
        lock_wait: float = LOCK_WAIT_SECONDS,
    ) -> None:
        self._store = store
        self._bus = bus
        self._extra = extra  # looked up per erasure: channels may register theirs after start-up
        self._on_queue_change = on_queue_change
        self._lock_wait = lock_wait
        self._ledger = KeyLedger(store)

    def erase_user(self, user_id: str, *, scrub: bool = True) -> ErasureReport:
        """Remove everything about a user; open tickets leave the advisors' queue."""
        report = ErasureReport()
        owned = self._store.owned(user_id)
        conversations = [doc_id for kind, doc_id in owned if kind == CONVERSATION]
        open_tickets = self._open_tickets(doc_id for kind, doc_id in owned if kind == TICKET)
        for conversation_id in conversations:
            self._erase_log(conversation_id, report)
        for kind, doc_id in self._store.owned(user_id):  # read again: documents written meanwhile go too
            self._delete(kind, doc_id, report)
        report.events += self._store.delete_events(user_id=user_id)
        self._store.delete_key(f"rl:user:{user_id}")
        other, failed = self._run_extra(user_id, conversations, whole_user=True)
        report.other += other
        for conversation_id in conversations:
            # A system message an advisor's action appended while we worked would otherwise outlive us.
            report.messages += self._store.delete_messages(conversation_id)
        report.withdrawn_tickets = self._withdraw(open_tickets)
        if scrub:
            self._store.scrub()
        if failed:
            raise Unavailable("part of the erasure failed; the rest is done, retry to finish it")
        return report

    def purge_conversation(self, conversation_id: str, user_id: str) -> ErasureReport:
        """Remove one conversation and every document of its user tied to it (tickets, candidates, links…)."""
        report = ErasureReport()
        self._erase_log(conversation_id, report)
        tied = self._tied_documents(user_id, conversation_id)
        open_tickets = self._open_tickets(doc_id for kind, doc_id in tied if kind == TICKET)
        for kind, doc_id in tied:
            self._delete(kind, doc_id, report)
        other, failed = self._run_extra(user_id, [conversation_id], whole_user=False)
        report.other += other
        report.messages += self._store.delete_messages(conversation_id)
        report.withdrawn_tickets = self._withdraw(open_tickets)
        if failed:
            raise Unavailable("part of the purge failed; the rest is done, the next run finishes it")
        return report

    def _delete(self, kind: str, doc_id: str, report: ErasureReport) -> None:
        if kind == KEY_LEDGER:
            # The keys go at once rather than when they expire (dedup results, idempotent responses…).
            report.other += self._ledger.delete_keys(doc_id)
        if self._store.delete(kind, doc_id):
            report.removed(kind)

    def _erase_log(self, conversation_id: str, report: ErasureReport) -> None:
        # The conversation document goes first, so no new turn starts; then we wait for one in flight.
        if self._store.delete(CONVERSATION, conversation_id):
            report.removed(CONVERSATION)
        with self._quiet(conversation_id):
            report.messages += self._store.delete_messages(conversation_id)
            report.events += self._store.delete_events(conversation_id=conversation_id)

    @contextlib.contextmanager
    def _quiet(self, conversation_id: str) -> Iterator[None]:
        lock = TurnLock(self._store, conversation_id, self._lock_wait)
        try:
            lock.__enter__()
        except Conflict:
            log.warning("a turn held its lock through an erasure; erasing anyway")
            yield
            return
        try:
            yield
        finally:
            lock.__exit__()

    def _tied_documents(self, user_id: str, conversation_id: str) -> list[tuple[str, str]]:
        """The user's documents that are or mention the conversation, or mention one of its tickets."""
        docs = []
        for kind, doc_id in self._store.owned(user_id):
            doc = self._store.get(kind, doc_id)
            if doc is not None:
                docs.append((kind, doc_id, json.dumps(doc, ensure_ascii=False)))
        # Conversation and ticket ids are random 128-bit hex, so finding one in a document's text is no accident.
        wanted, tied = {conversation_id}, set[tuple[str, str]]()
        while True:
            found = {
                (kind, doc_id)
                for kind, doc_id, text in docs
                if (kind, doc_id) not in tied and (doc_id in wanted or any(w in text for w in wanted))
            }
            if not found:
                return sorted(tied)
            tied |= found
            wanted |= {doc_id for kind, doc_id in found if kind == TICKET}

    def _open_tickets(self, ticket_ids: Iterable[str]) -> list[str]:
        open_ids = []
        for ticket_id in ticket_ids:
            doc = self._store.get(TICKET, ticket_id)
            if doc is not None and doc.get("status") in OPEN_STATUSES:
                open_ids.append(ticket_id)
        return open_ids

    def _withdraw(self, ticket_ids: Sequence[str]) -> int:
        """Tell the consoles the tickets are gone (no content: only the id) and waiting users their new place."""
        for ticket_id in ticket_ids:
            try:
                publish_ticket(self._bus, "ticket.erased", {"id": ticket_id, "status": "erased"})
            except Exception:  # consoles re-read the queue on reconnect; the erasure itself is done
                log.warning("could not announce an erased ticket", exc_info=True)
        if ticket_ids and self._on_queue_change is not None:
            try:
                self._on_queue_change()
            except Exception:
                log.warning("could not update the waiting users' queue positions", exc_info=True)
        return len(ticket_ids)

    def _run_extra(self, user_id: str, conversation_ids: Sequence[str], *, whole_user: bool) -> tuple[int, bool]:
        removed, failed = 0, False
        for eraser in self._extra():
            try:
                removed += eraser(user_id, conversation_ids, whole_user=whole_user)
            except Exception:  # the other stores are still erased; the caller reports the failure afterwards
                log.exception("a component's erasure failed")
                failed = True
        return removed, failed
