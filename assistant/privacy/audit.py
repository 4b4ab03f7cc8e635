"""The privacy audit log: who asked for what about which user, and when — never the personal data itself.

Entries are documents of kind `audit` with no owner, so erasing a user keeps the record that the erasure
happened. The user is named by a keyed pseudonym (HMAC of the user id), not the id: after an erasure no store
holds the id, yet support can still answer "was user X erased, by whom, when?" by looking the id up.
"""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from storage.ports import DocumentStore

AUDIT = "audit"
ActorRole = Literal["user", "admin", "system"]
Detail = int | float | bool | str | None


@dataclass(frozen=True)
class Actor:
    """Who made a privacy request: the user themselves, an administrator (by username), or the system."""

    name: str
    role: ActorRole

    @classmethod
    def self_service(cls) -> Actor:
        """The user acting on their own data (named by the entry's subject, not here)."""
        return cls("self", "user")


SYSTEM = Actor("retention", "system")


@dataclass(frozen=True)
class AuditEntry:
    """One audited privacy action; `details` hold counts and flags only."""

    id: str
    at: float
    action: str
    actor: str
    actor_role: str
    subject: str | None = None
    reference: str = ""
    details: dict[str, Detail] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return asdict(self)


def pseudonym(user_id: str, secret: str) -> str:
    """A stable, non-reversible name for a user id (HMAC-SHA256 with the server secret)."""
    digest = hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()
    return f"user:{digest[:32]}"


class AuditLog:
    """Appends and lists audit entries in a document store."""

    def __init__(self, store: DocumentStore, secret: str, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._secret = secret
        self._clock = clock

    def record(
        self,
        action: str,
        actor: Actor,
        *,
        user_id: str | None = None,
        reference: str = "",
        details: Mapping[str, Detail] | None = None,
    ) -> AuditEntry:
        """Store one entry (the user id only as its pseudonym)."""
        at = self._clock()
        entry = AuditEntry(
            # Time-ordered ids: listing newest first is a sort on the id.
            id=f"{int(at * 1_000_000):017d}-{uuid.uuid4().hex[:8]}",
            at=at,
            action=action,
            actor=actor.name,
            actor_role=actor.role,
            subject=pseudonym(user_id, self._secret) if user_id is not None else None,
            reference=reference,
            details=dict(details or {}),
        )
        self._store.put(AUDIT, entry.id, entry.to_dict())
        return entry

    def entries(self, *, user_id: str | None = None, action: str | None = None, limit: int = 100) -> list[AuditEntry]:
        """Entries newest first, optionally about one user or of one action."""
        where: dict[str, Any] = {}
        if user_id is not None:
            where["subject"] = pseudonym(user_id, self._secret)
        if action is not None:
            where["action"] = action
        docs = self._store.list(AUDIT, where=where or None)
        docs.sort(key=lambda d: str(d.get("id", "")), reverse=True)
        return [_entry(d) for d in docs[:limit]]


def _entry(doc: Mapping[str, Any]) -> AuditEntry:
    return AuditEntry(
        id=str(doc["id"]),
        at=float(doc["at"]),
        action=str(doc["action"]),
        actor=str(doc["actor"]),
        actor_role=str(doc["actor_role"]),
        subject=doc.get("subject"),
        reference=str(doc.get("reference", "")),
        details=dict(doc.get("details") or {}),
    )
