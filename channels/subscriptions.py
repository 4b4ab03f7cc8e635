"""Outbound webhook subscriptions: which URL gets which events, signed with a secret shown once."""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

from assistant.errors import InvalidInput, NotFound
from storage.ports import Store

SUBSCRIPTION = "webhook_sub"
EVENTS = ("message.created", "handoff.created", "handoff.resolved", "feedback.created")
# How long `for_event` reuses the subscription list: every message asks, subscriptions rarely change. Changes made
# through this object apply at once; another worker's within this many seconds (deliveries to a subscription
# removed meanwhile are dropped when they come due).
LIST_TTL_SECONDS = 2.0


def public(subscription: dict[str, Any]) -> dict[str, Any]:
    """A subscription without its secret (what listings show)."""
    return {k: v for k, v in subscription.items() if k != "secret"}


class WebhookSubscriptions:
    """Subscriptions are documents; the secret signs every delivery and is returned only at registration."""

    def __init__(self, store: Store, clock: Callable[[], float] = time.monotonic) -> None:
        self._store = store
        self._clock = clock
        self._lock = threading.Lock()
        self._listed: tuple[float, list[dict[str, Any]]] | None = None  # (until, subscriptions)
        self._changes = 0  # a list read while a change was made here must not be kept

    def subscribe(self, url: str, events: Sequence[str], *, description: str = "", by: str = "") -> dict[str, Any]:
        """Register a URL for events; the returned document includes the signing secret."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidInput("url must be an absolute http(s) URL")
        unknown = sorted(set(events) - set(EVENTS))
        if unknown or not events:
            raise InvalidInput(f"events must be a non-empty subset of {', '.join(EVENTS)}; unknown: {unknown}")
        subscription_id = "wh_" + uuid.uuid4().hex[:16]
        subscription: dict[str, Any] = {
            "id": subscription_id,
            "url": url,
            "events": sorted(set(events)),
            "description": description,
            "created_at": time.time(),
            "created_by": by,
            "secret": "whsec_" + secrets.token_urlsafe(32),
        }
        self._store.put(SUBSCRIPTION, subscription_id, subscription)
        self._forget()
        return subscription

    def get(self, subscription_id: str) -> dict[str, Any] | None:
        """A subscription with its secret, or None."""
        return self._store.get(SUBSCRIPTION, subscription_id)

    def all(self) -> list[dict[str, Any]]:
        """Every subscription (with secrets: callers show `public()` views)."""
        return sorted(self._store.list(SUBSCRIPTION), key=lambda s: float(s.get("created_at", 0.0)))

    def for_event(self, event_type: str) -> list[dict[str, Any]]:
        """Subscriptions that want this event (the list is read at most every `LIST_TTL_SECONDS`)."""
        now = self._clock()
        with self._lock:
            listed, changes = self._listed, self._changes
        if listed is None or now >= listed[0]:
            listed = (now + LIST_TTL_SECONDS, self.all())
            with self._lock:
                if self._changes == changes:
                    self._listed = listed
        return [s for s in listed[1] if event_type in s.get("events", ())]

    def unsubscribe(self, subscription_id: str) -> None:
        """Remove a subscription (its queued deliveries are dropped when they come due); NotFound if absent."""
        deleted = self._store.delete(SUBSCRIPTION, subscription_id)
        self._forget()
        if not deleted:
            raise NotFound("webhook subscription not found")

    def _forget(self) -> None:
        with self._lock:
            self._listed = None
            self._changes += 1
