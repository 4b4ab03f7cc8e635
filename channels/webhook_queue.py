"""The durable outbound-delivery queue in the store: due deliveries, leases, retries and the dead letters."""

from __future__ import annotations

import time
import uuid
from typing import Any

from assistant.errors import NotFound
from storage.ports import Store

DELIVERY = "webhook_delivery"
PENDING, SENDING, DEAD = "pending", "sending", "dead"
LEASE_SECONDS = 120.0  # a worker that dies mid-delivery gives the delivery back after this long


class DeliveryQueue:
    """Deliveries are documents (owned by the conversation's user, so erasure removes them); done ones are deleted."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def enqueue(self, subscription: dict[str, Any], event: dict[str, Any], body: str, *, owner: str | None) -> str:
        """Queue one event for one subscription; `body` is the exact JSON text that will be signed and sent."""
        now = time.time()
        delivery = {
            "id": "dl_" + uuid.uuid4().hex[:20],
            "subscription_id": subscription["id"],
            "url": subscription["url"],
            "event_id": event["id"],
            "event_type": event["type"],
            "body": body,
            "status": PENDING,
            "attempts": 0,
            "next_at": now,
            "lease_until": None,
            "last_error": "",
            "created_at": now,
        }
        self._store.put(DELIVERY, delivery["id"], delivery, owner=owner)
        return str(delivery["id"])

    def due(self, now: float) -> tuple[list[dict[str, Any]], float | None]:
        """Pending deliveries due now (oldest first), and when the next later one is due (None if none)."""
        pending = self._store.list(DELIVERY, where={"status": PENDING})
        due = sorted((d for d in pending if float(d["next_at"]) <= now), key=lambda d: float(d["created_at"]))
        later = [float(d["next_at"]) for d in pending if float(d["next_at"]) > now]
        return due, min(later, default=None)

    def lease(self, delivery: dict[str, Any], now: float) -> dict[str, Any] | None:
        """Take a due delivery for sending; of several workers exactly one gets it."""
        expected = {"status": PENDING, "attempts": delivery["attempts"]}
        return self._store.update_if(
            DELIVERY, delivery["id"], expected, {"status": SENDING, "lease_until": now + LEASE_SECONDS}
        )

    def reclaim_expired(self, now: float) -> int:
        """Give deliveries whose worker vanished mid-send back to the queue."""
        count = 0
        for delivery in self._store.list(DELIVERY, where={"status": SENDING}):
            lease = delivery.get("lease_until")
            if lease is not None and float(lease) < now:
                expected = {"status": SENDING, "lease_until": lease}
                if self._store.update_if(DELIVERY, delivery["id"], expected, {"status": PENDING, "next_at": now}):
                    count += 1
        return count

    def done(self, delivery_id: str) -> None:
        """Forget a delivered event."""
        self._store.delete(DELIVERY, delivery_id)

    def failed(self, delivery: dict[str, Any], error: str, now: float, *, max_attempts: int, delay: float) -> str:
        """Schedule a retry after `delay`, or move to the dead letters after `max_attempts`; returns the status."""
        attempts = int(delivery["attempts"]) + 1
        changes: dict[str, Any] = {"attempts": attempts, "last_error": error[:500], "lease_until": None}
        if attempts >= max_attempts:
            changes.update(status=DEAD, dead_at=now)
        else:
            changes.update(status=PENDING, next_at=now + delay)
        self._store.update_if(DELIVERY, delivery["id"], {"status": SENDING}, changes)
        return str(changes["status"])

    def dead_letters(self) -> list[dict[str, Any]]:
        """Deliveries that failed every attempt, newest first."""
        dead = self._store.list(DELIVERY, where={"status": DEAD})
        return sorted(dead, key=lambda d: float(d.get("dead_at", 0.0)), reverse=True)

    def replay(self, delivery_id: str) -> dict[str, Any]:
        """Queue a dead letter again with fresh attempts; NotFound unless it is a dead letter."""
        changes = {"status": PENDING, "attempts": 0, "next_at": time.time(), "replayed_at": time.time()}
        replayed = self._store.update_if(DELIVERY, delivery_id, {"status": DEAD}, changes)
        if replayed is None:
            raise NotFound("no dead letter with this id")
        return replayed
