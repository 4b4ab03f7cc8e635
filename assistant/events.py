"""Analytics events written with every decision: names, and a recorder that stores a turn's events in one write."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from storage.ports import EventLog, StoredEvent

CONVERSATION_STARTED = "conversation.started"
TURN = "turn"  # one user turn and the bot's decision (action, intent, confidence, sources, faq_id)
CLARIFY_ASKED = "clarify.asked"
CLARIFY_RESOLVED = "clarify.resolved"
FALLBACK = "fallback"  # the user's text the bot could not answer
TURN_UNRESOLVED = "turn.unresolved"  # the user's text of a turn that handed off
HANDOFF = "handoff.created"
AGENT_CLAIMED = "agent.claimed"
AGENT_FIRST_REPLY = "agent.first_reply"
TICKET_RESOLVED = "ticket.resolved"
CSAT = "csat"
FEEDBACK = "feedback"
RESOLUTION_CONFIRMED = "resolution.confirmed"  # the user said thanks or rated an answer useful


class EventRecorder:
    """Collects a unit of work's events and writes them in one durable append."""

    def __init__(self, log: EventLog) -> None:
        self._log = log

    def record(
        self,
        event_type: str,
        *,
        conversation_id: str = "",
        user_id: str = "",
        data: Mapping[str, Any] | None = None,
        at: float | None = None,
    ) -> None:
        """Write one event now."""
        self.record_many([(event_type, dict(data or {}))], conversation_id=conversation_id, user_id=user_id, at=at)

    def record_many(
        self,
        events: list[tuple[str, dict[str, Any]]],
        *,
        conversation_id: str = "",
        user_id: str = "",
        at: float | None = None,
    ) -> None:
        """Write several events of one conversation with a single append."""
        if not events:
            return
        when = time.time() if at is None else at
        self._log.append_events(
            [
                StoredEvent(type=kind, at=when, conversation_id=conversation_id, user_id=user_id, data=data)
                for kind, data in events
            ]
        )
