"""Routing advisor and system messages to the channel a conversation lives in (the web widget needs nothing)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, Protocol

from assistant.conversations import Conversation
from storage.ports import StoredMessage

log = logging.getLogger(__name__)

DeliveryStatus = Literal["sent", "collected", "skipped", "refused", "failed"]


@dataclass(frozen=True)
class DeliveryResult:
    """What happened to one message: sent, folded into a passive reply, not needed, refused or failed."""

    status: DeliveryStatus
    detail: str = ""


class ChannelSender(Protocol):
    """Pushes messages to one channel's users."""

    def check(self, conversation: Conversation) -> None:
        """Raise (Conflict, Unavailable) when a message cannot be sent to this conversation now."""
        ...

    def send(self, conversation: Conversation, message: StoredMessage) -> DeliveryResult:
        """Deliver one message; failures are reported in the result, never raised."""
        ...


class ChannelDelivery:
    """The `channel_delivery` component: the handoff service calls it for every advisor and system message."""

    def __init__(self, senders: Mapping[str, ChannelSender] | None = None) -> None:
        self._senders = dict(senders or {})

    def register(self, channel: str, sender: ChannelSender) -> None:
        """Deliver messages of conversations in `channel` through `sender`."""
        self._senders[channel] = sender

    def check(self, conversation: Conversation) -> None:
        """Raise when the conversation's channel refuses messages now (e.g. WeChat's 48-hour window)."""
        sender = self._senders.get(conversation.channel)
        if sender is not None:
            sender.check(conversation)

    def __call__(self, conversation: Conversation, message: StoredMessage) -> DeliveryResult:
        """Deliver through the conversation's channel; channels without a sender read the transcript themselves."""
        sender = self._senders.get(conversation.channel)
        if sender is None:
            # The widget follows the live bus; webhook integrations get `message.created` from the outbox.
            return DeliveryResult("skipped", f"no push delivery for channel {conversation.channel!r}")
        try:
            return sender.send(conversation, message)
        except Exception as exc:  # a sender bug must not fail the advisor's action, which is already stored
            log.exception("channel delivery failed", extra={"channel": conversation.channel})
            return DeliveryResult("failed", type(exc).__name__)
