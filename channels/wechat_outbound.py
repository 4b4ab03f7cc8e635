"""Messages to WeChat followers outside a passive reply: advisors' replies and handoff notices, via the CS API."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from assistant.conversations import Conversation
from assistant.errors import Conflict, Unavailable
from channels.delivery import DeliveryResult
from channels.texts import chunks
from channels.wechat_api import WeChatApiClient, WeChatApiError
from channels.wechat_window import ServiceWindow
from storage.ports import StoredMessage

log = logging.getLogger(__name__)

WINDOW_CLOSED = (
    "the WeChat user last wrote more than 48 hours ago; WeChat does not allow replies now "
    "(the user has to send a message first)"
)


@dataclass
class PassiveReply:
    """Texts produced while a follower's own turn runs: they ride on the passive reply, not the CS API."""

    openid: str
    texts: list[str] = field(default_factory=list)


_passive: ContextVar[PassiveReply | None] = ContextVar("wechat_passive_reply", default=None)


@contextmanager
def collecting(openid: str) -> Iterator[PassiveReply]:
    """While the block runs (in this thread), messages to `openid` are collected instead of pushed."""
    reply = PassiveReply(openid)
    token = _passive.set(reply)
    try:
        yield reply
    finally:
        _passive.reset(token)


def render(message: StoredMessage) -> str:
    """The text a follower sees; an advisor's message carries their name, as the widget shows it."""
    name = str(message.data.get("agent_name") or "") if message.role == "agent" else ""
    return f"{name}：{message.text}" if name else message.text


class WeChatSender:
    """The WeChat `ChannelSender`: the 48-hour window is checked before anything is sent."""

    def __init__(self, api: WeChatApiClient, window: ServiceWindow) -> None:
        self.api = api
        self.window = window

    def check(self, conversation: Conversation) -> None:
        """Conflict outside the 48-hour window, Unavailable when the CS API is not configured."""
        if not self.api.configured:
            raise Unavailable(
                "replies to WeChat users need ASSISTANT_WECHAT_APP_ID and ASSISTANT_WECHAT_APP_SECRET",
                code="wechat_not_configured",
            )
        if not self.window.is_open(conversation.external_id or ""):
            raise Conflict(WINDOW_CLOSED, code="wechat_window_closed")

    def send(self, conversation: Conversation, message: StoredMessage) -> DeliveryResult:
        """Fold into the running passive reply, or push through the CS API while the window is open."""
        openid = conversation.external_id or ""
        passive = _passive.get()
        if passive is not None and passive.openid == openid:
            passive.texts.append(render(message))
            return DeliveryResult("collected")
        if not self.window.is_open(openid):
            log.warning("WeChat message not sent: 48-hour window closed", extra={"conversation": conversation.id})
            return DeliveryResult("refused", WINDOW_CLOSED)
        try:
            for part in chunks(render(message)):
                self.api.send_text(openid, part)
        except WeChatApiError as exc:
            log.warning(
                "WeChat message not sent",
                extra={"conversation": conversation.id, "errcode": exc.errcode, "error": exc.message},
            )
            return DeliveryResult("failed", exc.message)
        return DeliveryResult("sent")
