"""Live event topics and shapes shared by the chat WebSocket, the agents' WebSocket and the services."""

from __future__ import annotations

from typing import Any

from assistant.conversations import message_to_json
from storage.ports import EventBus, StoredMessage

AGENTS_TOPIC = "agents"


def conversation_topic(conversation_id: str) -> str:
    """Topic of one conversation's live events (the user's widget listens here)."""
    return f"conv:{conversation_id}"


def publish_message(bus: EventBus, message: StoredMessage, *, ticket_id: str | None = None) -> None:
    """Announce a new transcript entry to the conversation and, when it is under a ticket, to agents."""
    payload = message_to_json(message)
    bus.publish(conversation_topic(message.conversation_id), {"type": "message", "message": payload})
    if ticket_id is not None:
        bus.publish(
            AGENTS_TOPIC,
            {
                "type": "message",
                "conversation_id": message.conversation_id,
                "ticket_id": ticket_id,
                "message": payload,
            },
        )


def publish_typing(bus: EventBus, conversation_id: str, role: str, active: bool = True) -> None:
    """Show or hide a typing indicator in the user's widget."""
    bus.publish(conversation_topic(conversation_id), {"type": "typing", "role": role, "active": active})


def publish_queue(bus: EventBus, conversation_id: str, position: int, eta_seconds: float) -> None:
    """Tell a waiting user their queue position and estimated wait."""
    bus.publish(
        conversation_topic(conversation_id),
        {"type": "queue", "position": position, "eta_seconds": round(eta_seconds)},
    )


def publish_ticket(bus: EventBus, event_type: str, ticket: dict[str, Any]) -> None:
    """Tell every agent console that a ticket was created, changed, claimed or resolved."""
    bus.publish(AGENTS_TOPIC, {"type": event_type, "ticket": ticket})
