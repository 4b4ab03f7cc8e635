"""Builds hand-written analytics event sequences the way the chat and handoff services record them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from assistant import events as ev
from storage.ports import StoredEvent

TZ = ZoneInfo("Asia/Shanghai")


def at(text: str) -> float:
    """Epoch seconds of a Shanghai wall-clock time `YYYY-MM-DD HH:MM`."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=TZ).timestamp()


@dataclass
class Conv:
    """Who a conversation belongs to."""

    id: str
    user: str
    channel: str
    tier: str


@dataclass
class EventLog:
    """An in-order list of events with one helper per event the services write."""

    events: list[StoredEvent] = field(default_factory=list)

    def _add(self, kind: str, when: float, conv: Conv, data: dict[str, Any]) -> None:
        base = {"channel": conv.channel, "tier": conv.tier}
        self.events.append(StoredEvent(kind, when, conv.id, conv.user, {**base, **data}, len(self.events) + 1))

    def start(self, cid: str, user: str, when: float, *, channel: str = "web", tier: str = "free") -> Conv:
        conv = Conv(cid, user, channel, tier)
        self._add(ev.CONVERSATION_STARTED, when, conv, {})
        return conv

    def turn(self, conv: Conv, when: float, action: str, *, intent: str | None = None, faq: str | None = None,
             text: str = "") -> None:  # fmt: skip
        self._add(ev.TURN, when, conv, {"action": action, "intent": intent, "faq_id": faq})
        if action == "fallback":
            self._add(ev.FALLBACK, when, conv, {"text": text, "intent": intent})
        if action == "handoff":
            self._add(ev.TURN_UNRESOLVED, when, conv, {"text": text, "intent": intent})

    def thanks(self, conv: Conv, when: float) -> None:
        self._add(ev.RESOLUTION_CONFIRMED, when, conv, {"via": "thanks"})

    def feedback(self, conv: Conv, when: float, rating: str) -> None:
        self._add(ev.FEEDBACK, when, conv, {"rating": rating})
        if rating == "up":
            self._add(ev.RESOLUTION_CONFIRMED, when, conv, {"via": "feedback"})

    def handoff(self, conv: Conv, when: float, ticket: str, *, reason: str = "explicit_request",
                kind: str = "live", deadline: float | None = None) -> None:  # fmt: skip
        data: dict[str, Any] = {"ticket_id": ticket, "reason": reason, "kind": kind}
        if deadline is not None:
            data["sla_deadline"] = deadline
        self._add(ev.HANDOFF, when, conv, data)

    def first_reply(self, conv: Conv, when: float, ticket: str) -> None:
        self._add(ev.AGENT_FIRST_REPLY, when, conv, {"ticket_id": ticket, "seconds": 0})

    def resolved(self, conv: Conv, when: float, ticket: str) -> None:
        self._add(ev.TICKET_RESOLVED, when, conv, {"ticket_id": ticket})

    def csat(self, conv: Conv, when: float, score: int) -> None:
        self._add(ev.CSAT, when, conv, {"score": score})

    def ordered(self) -> list[StoredEvent]:
        """The events in the order a store returns them (time, then id)."""
        return sorted(self.events, key=lambda e: (e.at, e.id))
