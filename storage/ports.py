"""Storage ports: the few durable primitives every store (SQLite, Redis) provides.

The product's state is kept as JSON *documents* of a few kinds (users, conversations, dialogue states,
tickets, agents, FAQ candidates, webhooks, audit entries…), an append-only *message log* per
conversation, an append-only *event log* for analytics, and short-lived *keys* (dedup, idempotency,
rate limits). Typed repositories in the core convert documents to dataclasses; adapters stay dumb.

Every write returns only after it is durable (committed to SQLite / acknowledged by Redis with AOF), except the
coordination keys `KeyStore` names.
"""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

JSON = dict[str, Any]
LOCK_PREFIX = "lock:"


def is_lock_key(key: str) -> bool:
    """True for a coordination key (a lock held for seconds), which a store need not flush to disk."""
    return key.startswith(LOCK_PREFIX)


@dataclass(frozen=True)
class StoredMessage:
    """One entry of a conversation's message log; `seq` is 1, 2, 3… per conversation."""

    id: str
    conversation_id: str
    seq: int
    role: str  # user | bot | agent | system
    text: str
    created_at: float
    data: JSON = field(default_factory=dict)  # action, quick replies, sources, agent name, event type…


@dataclass(frozen=True)
class StoredEvent:
    """One analytics event; `id` is assigned by the store and increases with time."""

    type: str
    at: float
    conversation_id: str = ""
    user_id: str = ""
    data: JSON = field(default_factory=dict)
    id: int = 0


class DocumentStore(Protocol):
    """JSON documents addressed by (kind, id), optionally owned by a user (for export and erasure)."""

    def put(self, kind: str, doc_id: str, data: Mapping[str, Any], *, owner: str | None = None) -> None:
        """Create or replace a document."""
        ...

    def get(self, kind: str, doc_id: str) -> JSON | None:
        """The document, or None."""
        ...

    def list(self, kind: str, *, owner: str | None = None, where: Mapping[str, Any] | None = None) -> list[JSON]:
        """Documents of a kind (optionally of one owner, optionally whose top-level fields equal `where`)."""
        ...

    def delete(self, kind: str, doc_id: str) -> bool:
        """Remove a document; True if it existed."""
        ...

    def update_if(
        self,
        kind: str,
        doc_id: str,
        expected: Mapping[str, Any],
        changes: Mapping[str, Any],
        *,
        score: float | None = None,
    ) -> JSON | None:
        """Atomically apply `changes` (top-level fields) if every `expected` field matches; else None.

        An empty `expected` updates unconditionally if the document exists. Of any number of concurrent
        callers expecting the same old value, exactly one gets the new document. With `score`, the same atomic
        step ranks the document among its kind for `top` (a document keeps its score through later writes).
        """
        ...

    def top(self, kind: str, limit: int) -> builtins.list[JSON]:
        """The `limit` documents of a kind with the highest scores, highest first (equal scores by id); documents
        never given a score are not listed. Reads only those documents, however many the kind holds."""
        ...

    def owners_of(self, kind: str, doc_id: str) -> str | None:
        """The owner recorded for a document, or None."""
        ...

    def owned(self, owner: str) -> builtins.list[tuple[str, str]]:
        """(kind, id) of every document owned by `owner`, whatever its kind (export and erasure)."""
        ...


class MessageLog(Protocol):
    """Append-only per-conversation message log with a sequence number per conversation."""

    def append_message(
        self,
        conversation_id: str,
        role: str,
        text: str,
        data: Mapping[str, Any] | None = None,
        *,
        require: Mapping[str, Any] | None = None,
        at: float | None = None,
    ) -> StoredMessage | None:
        """Append durably and return the stored message.

        With `require`, the append happens only if the conversation document (kind `conversation`,
        id `conversation_id`) has those top-level field values at that instant; otherwise None and
        nothing is written. This is how a bot reply in flight loses to an agent's claim.
        """
        ...

    def list_messages(
        self, conversation_id: str, *, after_seq: int = 0, limit: int | None = None
    ) -> list[StoredMessage]:
        """Messages with seq > after_seq, in order."""
        ...

    def get_message(self, message_id: str) -> StoredMessage | None:
        """One message by id."""
        ...

    def delete_messages(self, conversation_id: str) -> int:
        """Remove a conversation's whole log; returns how many messages were removed."""
        ...


class EventLog(Protocol):
    """Append-only analytics events, queried by time range."""

    def append_events(self, events: Sequence[StoredEvent]) -> None:
        """Store events durably (batched; cheap on the hot path)."""
        ...

    def iter_events(self, start: float, end: float, *, types: Sequence[str] | None = None) -> Iterator[StoredEvent]:
        """Events with start <= at < end, ordered by time."""
        ...

    def delete_events(self, *, user_id: str | None = None, conversation_id: str | None = None) -> int:
        """Erase the events of a user or a conversation."""
        ...

    def events_of(self, *, user_id: str | None = None, conversation_id: str | None = None) -> list[StoredEvent]:
        """Every event of a user or a conversation, ordered by time (export), without scanning the whole log."""
        ...


class KeyStore(Protocol):
    """Short-lived keys: dedup of retried deliveries, idempotency results, rate-limit windows.

    Rate-limit counts (`hit`) and locks (keys named `lock:…`) only coordinate requests for seconds: a store may
    write them without waiting for the disk. They survive a crash of the process, not necessarily a power loss,
    which at worst forgets a few counts or frees a lock early (a lock also frees itself when its TTL runs out).
    """

    def set_once(self, key: str, value: str, ttl_seconds: float) -> bool:
        """Set the key only if absent; True if this call set it."""
        ...

    def get_key(self, key: str) -> str | None:
        """The value, or None if absent or expired."""
        ...

    def set_key(self, key: str, value: str, ttl_seconds: float | None = None) -> None:
        """Set (overwrite) a key."""
        ...

    def delete_key(self, key: str) -> None:
        """Remove a key."""
        ...

    def hit(self, key: str, window_seconds: float) -> int:
        """Count one hit in a fixed window starting at the first hit; returns the count so far."""
        ...


class Store(DocumentStore, MessageLog, EventLog, KeyStore, Protocol):
    """Everything durable, behind one object per backend."""

    def ping(self) -> bool:
        """True when the backend answers."""
        ...

    def write_group(self) -> AbstractContextManager[None]:
        """Writes of this thread inside the block share one commit where the backend has transactions (SQLite:
        one flush to disk instead of one per write; all or nothing); elsewhere each write stands alone."""
        ...

    def dump_text(self) -> str:
        """Every stored byte as text (for erasure tests and operator audits)."""
        ...

    def scrub(self) -> None:
        """Make deleted data unrecoverable from the backend's files (WAL, append-only file) after an erasure."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


class EventBus(Protocol):
    """Live fan-out of events to WebSocket subscribers (in-process, or Redis pub/sub across workers)."""

    def publish(self, topic: str, event: Mapping[str, Any]) -> None:
        """Send an event to every current subscriber of a topic; safe to call from any thread."""
        ...

    def subscribe(self, topic: str) -> AsyncIterator[JSON]:
        """Yield events published to the topic after the subscription starts (an async generator)."""
        ...
