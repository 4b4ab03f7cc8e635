"""Telling people about handoff changes: system messages, live events to users and consoles, analytics."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from assistant.conversations import Conversation, ConversationRepository, message_to_json
from assistant.live import publish_message, publish_queue, publish_ticket, publish_typing
from handoff.hours import BusinessHours
from handoff.models import QueueEntry, Ticket
from handoff.queue import estimate_wait, queue_order, ticket_view, wait_per_position
from handoff.tickets import PAGE_ATTEMPTS, TicketRepository
from storage.ports import EventBus, StoredEvent, StoredMessage

log = logging.getLogger(__name__)

# -- channels hooks (channels/): outbound webhooks and delivery to non-web channels such as WeChat ----------
Emit = Callable[[str, Mapping[str, Any]], None]  # (event_type, JSON payload) -> None, never raises


class ChannelDelivery(Protocol):
    """Carries advisor and system messages to conversations outside the web widget (e.g. WeChat)."""

    def check(self, conversation: Conversation) -> None:
        """Raise (e.g. Conflict) when the conversation's channel cannot take a message now."""
        ...

    def __call__(self, conversation: Conversation, message: StoredMessage) -> object:
        """Deliver one message through the conversation's channel."""
        ...


class Notifier:
    """Writes the user-visible trail of a handoff and fans live events out (best effort, after the writes)."""

    def __init__(
        self,
        bus: EventBus,
        conversations: ConversationRepository,
        tickets: TicketRepository,
        hours: BusinessHours,
        default_wait: float,
        *,
        emit: Emit | None = None,
        delivery: ChannelDelivery | None = None,
    ) -> None:
        self.bus = bus
        self.conversations = conversations
        self.tickets = tickets
        self.hours = hours
        self.default_wait = default_wait
        self.emit = emit
        self.delivery = delivery

    def system_message(self, ticket: Ticket, text: str, data: Mapping[str, Any]) -> StoredMessage | None:
        """Append a `system` message to the conversation and publish it to the user and the consoles."""
        message = self.conversations.append(ticket.conversation_id, "system", text, dict(data))
        if message is not None:
            self.message(message, ticket.id)
            self.outbound(message)
        return message

    # -- channels hooks ---------------------------------------------------------------------------------

    def emit_event(self, event_type: str, payload: Mapping[str, Any]) -> None:
        """Hand an event to the outbox (outbound webhooks)."""
        if self.emit is not None:
            self._safely(self.emit, event_type, payload)

    def outbound(self, message: StoredMessage) -> None:
        """Emit `message.created` and deliver an advisor or system message through a non-web channel."""
        payload = {"conversation_id": message.conversation_id, "message": message_to_json(message)}
        self.emit_event("message.created", payload)
        delivery, conversation = self.delivery, self._non_web(message.conversation_id)
        if delivery is not None and conversation is not None:
            self._safely(delivery, conversation, message)

    def check_channel(self, conversation_id: str) -> None:
        """Raise before anything is stored when the conversation's channel refuses messages now."""
        delivery, conversation = self.delivery, self._non_web(conversation_id)
        if delivery is not None and conversation is not None:
            delivery.check(conversation)

    def _non_web(self, conversation_id: str) -> Conversation | None:
        # The widget follows the live bus; only other channels need a push (and only they are read here).
        conversation = self.conversations.get(conversation_id) if self.delivery is not None else None
        return conversation if conversation is not None and conversation.channel != "web" else None

    def message(self, message: StoredMessage, ticket_id: str | None) -> None:
        """Publish a transcript entry (to agents too when it belongs to a ticket)."""
        self._safely(publish_message, self.bus, message, ticket_id=ticket_id)

    def typing(self, conversation_id: str, active: bool) -> None:
        """Show or hide the advisor's typing indicator in the user's widget."""
        self._safely(publish_typing, self.bus, conversation_id, "agent", active)

    def ticket(
        self, event_type: str, ticket: Ticket, now: float, *, position: int | None = None, eta: float | None = None
    ) -> None:
        """Tell every console a ticket changed (a waiting ticket's position is looked up unless given)."""
        if ticket.status == "waiting" and position is None:
            position, eta = self.position_of(ticket.id, now)
        view = ticket_view(ticket, now, position=position, eta=eta)
        self._safely(publish_ticket, self.bus, event_type, view)

    def waiting(self, now: float) -> list[tuple[QueueEntry, int, float]]:
        """Waiting tickets' index entries in queue order with their position (1 = next) and estimated wait in
        seconds (reads the small entries only, never the tickets)."""
        per_position = wait_per_position(self.tickets.recent_waits(), self.default_wait)
        ordered = queue_order(self.tickets.open_entries())
        return [(t, i, self.eta(t, i, per_position, now)) for i, t in enumerate(ordered, start=1)]

    def waiting_page(self, now: float, limit: int) -> list[tuple[Ticket, int, float]]:
        """The first `limit` waiting tickets, read whole, with their positions and estimated waits.

        An entry that no longer matches its ticket (its process died between the ticket's write and the entry's)
        is repaired and the queue read again, so the page shows the queue as the tickets themselves order it.
        """
        for _ in range(PAGE_ATTEMPTS):
            snapshot = self.waiting(now)[: max(0, limit)]
            tickets = self.tickets.page([entry for entry, _, _ in snapshot])
            if tickets is not None:
                return [(t, p, e) for t, (_, p, e) in zip(tickets, snapshot, strict=True)]
        # Still changing under us: show what the tickets say, positions as last read.
        shown = [(self.tickets.get(entry.id), p, e) for entry, p, e in snapshot]
        return [(t, p, e) for t, p, e in shown if t is not None and t.status == "waiting"]

    def eta(self, ticket: Ticket | QueueEntry, position: int, per_position: float, now: float) -> float:
        """Seconds until an advisor picks the ticket up (after hours: until opening, plus the queue)."""
        base = estimate_wait(position, per_position)
        if ticket.kind == "message":
            base += max(0.0, self.hours.next_open(now) - now)
        return base

    def position_of(self, ticket_id: str, now: float) -> tuple[int | None, float | None]:
        """A waiting ticket's current queue position and wait estimate."""
        for ticket, position, eta in self.waiting(now):
            if ticket.id == ticket_id:
                return position, eta
        return None, None

    def queue(self, now: float, snapshot: list[tuple[QueueEntry, int, float]] | None = None) -> None:
        """Send every live waiting user their current position and estimated wait."""
        try:
            waiting = self.waiting(now) if snapshot is None else snapshot
        except Exception:
            log.warning("could not read the queue to update waiting users", exc_info=True)
            return
        for ticket, position, eta in waiting:
            if ticket.kind == "live":
                self._safely(publish_queue, self.bus, ticket.conversation_id, position, eta)

    def event(self, event_type: str, ticket: Ticket, at: float, **data: Any) -> None:
        """Record an analytics event about a ticket."""
        payload = {"ticket_id": ticket.id, "tier": ticket.tier, "channel": ticket.channel, **data}
        event = StoredEvent(event_type, at, ticket.conversation_id, ticket.user_id, payload)
        self._safely(self.conversations.store.append_events, [event])

    @staticmethod
    def _safely(action: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        # State is already durable; consoles and widgets re-read it, so a lost live event is not fatal.
        try:
            action(*args, **kwargs)
        except Exception:
            log.warning("live handoff notification failed", exc_info=True)


def ticket_payload(ticket: Ticket) -> dict[str, Any]:
    """The outbound-webhook view of a ticket (no packet, notes or transcript): channels hook."""
    return {
        "ticket_id": ticket.id,
        "conversation_id": ticket.conversation_id,
        "user_id": ticket.user_id,
        "tier": ticket.tier,
        "channel": ticket.channel,
        "reason": ticket.reason,
        "kind": ticket.kind,
        "status": ticket.status,
    }
