"""The outbox: `emit(event_type, payload)` queues one signed delivery per interested webhook subscription."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from assistant.conversations import ConversationRepository
from channels.subscriptions import WebhookSubscriptions
from channels.webhook_queue import DeliveryQueue
from storage.ports import Store

log = logging.getLogger(__name__)


class Outbox:
    """The `outbox` component the chat and handoff services emit to; it never raises into them."""

    def __init__(
        self,
        store: Store,
        subscriptions: WebhookSubscriptions,
        queue: DeliveryQueue,
        *,
        wake: Callable[[], None] = lambda: None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._conversations = ConversationRepository(store)
        self._subscriptions = subscriptions
        self._queue = queue
        self._wake = wake
        self._clock = clock

    def emit(self, event_type: str, payload: Mapping[str, Any]) -> None:
        """Queue the event durably for every subscription that wants it (nothing to do without subscribers)."""
        try:
            self._emit(event_type, payload)
        except Exception:  # the user's turn or the advisor's action is already stored; webhooks are secondary
            log.exception("could not queue a webhook event", extra={"event_type": event_type})

    def _emit(self, event_type: str, payload: Mapping[str, Any]) -> None:
        subscriptions = self._subscriptions.for_event(event_type)
        if not subscriptions:
            return
        data = dict(payload)
        conversation_id = data.get("conversation_id")
        if conversation_id:
            # Integrators match events to their own threads: add the channel, their id and the user.
            conversation = self._conversations.get(str(conversation_id))
            if conversation is not None:
                data.setdefault("channel", conversation.channel)
                data.setdefault("external_id", conversation.external_id)
                data.setdefault("user_id", conversation.user_id)
        event = {"id": "evt_" + uuid.uuid4().hex, "type": event_type, "created_at": self._clock(), "data": data}
        body = json.dumps(event, ensure_ascii=False, separators=(",", ":"), default=str)
        owner = str(data["user_id"]) if data.get("user_id") else None
        for subscription in subscriptions:
            self._queue.enqueue(subscription, event, body, owner=owner)
        self._wake()
