"""Outbound webhook subscriptions: which URL gets which events, signed with a secret shown once."""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from assistant.errors import InvalidInput, NotFound
from storage.ports import Store

SUBSCRIPTION = "webhook_sub"
EVENTS = ("message.created", "handoff.created", "handoff.resolved", "feedback.created")


def public(subscription: dict[str, Any]) -> dict[str, Any]:
    """A subscription without its secret (what listings show)."""
    return {k: v for k, v in subscription.items() if k != "secret"}


class WebhookSubscriptions:
    """Subscriptions are documents; the secret signs every delivery and is returned only at registration."""

    def __init__(self, store: Store) -> None:
        self._store = store

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
        return subscription

    def get(self, subscription_id: str) -> dict[str, Any] | None:
        """A subscription with its secret, or None."""
        return self._store.get(SUBSCRIPTION, subscription_id)

    def all(self) -> list[dict[str, Any]]:
        """Every subscription (with secrets: callers show `public()` views)."""
        return sorted(self._store.list(SUBSCRIPTION), key=lambda s: float(s.get("created_at", 0.0)))

    def for_event(self, event_type: str) -> list[dict[str, Any]]:
        """Subscriptions that want this event."""
        return [s for s in self.all() if event_type in s.get("events", ())]

    def unsubscribe(self, subscription_id: str) -> None:
        """Remove a subscription (its queued deliveries are dropped when they come due); NotFound if absent."""
        if not self._store.delete(SUBSCRIPTION, subscription_id):
            raise NotFound("webhook subscription not found")
