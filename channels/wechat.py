"""The WeChat Official Account endpoint's logic: one passive reply per message, within WeChat's 5-second limit."""

from __future__ import annotations

import functools
import json
import logging
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from wechatpy import parse_message
from wechatpy.replies import create_reply

from assistant.auth import UserIdentity
from assistant.chat import ChatService
from assistant.errors import AssistantError, Conflict, InvalidInput, RateLimited
from assistant.privacy.keys import KeyLedger
from channels import texts
from channels.conversations import ChannelConversations
from channels.dedup import OnceGate
from channels.users import UserDirectory
from channels.wechat_api import WeChatApiClient, WeChatApiError
from channels.wechat_envelope import WeChatEnvelope
from channels.wechat_outbound import collecting
from channels.wechat_window import ServiceWindow
from storage.ports import Store

log = logging.getLogger(__name__)

CHANNEL = "wechat"
EMPTY = "success"  # WeChat's "no passive reply": it neither retries nor shows an error to the user
PASSIVE, DEFERRED = "passive", "deferred"
# WeChat retries within ~15 s; an hour also covers slow retries and clock skew between workers.
_DEDUP_SECONDS = 3600.0
_SUBSCRIBE_EVENTS = {"subscribe", "subscribe_scan"}


class WeChatInbound:
    """Verifies, deduplicates and answers messages; answers that miss the budget go out via the CS API."""

    def __init__(
        self,
        *,
        envelope: WeChatEnvelope,
        keys: Store,
        chat: Callable[[], ChatService],
        conversations: ChannelConversations,
        users: Callable[[], UserDirectory],
        window: ServiceWindow,
        api: WeChatApiClient,
        budget_seconds: float = 4.0,
        idle_seconds: float = 24 * 3600.0,
        welcome_text: str = "",
        max_workers: int = 8,
    ) -> None:
        self.envelope = envelope
        self._keys = keys
        self._ledger = KeyLedger(keys)  # what the keys below hold of a user goes when the user is erased
        self._gate = OnceGate(keys, "wechat", _DEDUP_SECONDS, ledger=self._ledger)
        self._chat = chat
        self._conversations = conversations
        self._users = users
        self.window = window
        self.api = api
        self.budget_seconds = budget_seconds
        self._idle_seconds = idle_seconds
        self._welcome = welcome_text
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="wechat-turn")

    def handle(self, params: Mapping[str, str], body: bytes) -> str:
        """The HTTP response body for one POST from WeChat: reply XML, or `success` for no passive reply."""
        deadline = time.monotonic() + self.budget_seconds
        opened = self.envelope.open(params, body)
        self._chat()  # 503 while the assistant is starting: WeChat retries, nothing has been claimed yet
        message = parse_message(opened.xml)
        openid = str(getattr(message, "source", "") or "")
        if not openid:
            raise InvalidInput("the message has no FromUserName")
        identity = self._users().lookup(openid)
        self.window.touch(openid, identity.id)
        kind = opened.msg_type
        delivery_id = _delivery_id(message, kind)
        answer = functools.partial(self._answer, message, kind, openid, identity)
        text = self._reply_once(delivery_id, openid, identity.id, answer, deadline)
        if not text:
            return EMPTY
        # wechatpy wraps the content in CDATA verbatim, so a "]]>" inside it must be split across two sections.
        reply = create_reply(text.replace("]]>", "]]]]><![CDATA[>"), message, render=True)
        return self.envelope.seal(opened, str(reply))

    def close(self) -> None:
        """Let running turns finish (their late answers still go out), then stop the pool."""
        self._pool.shutdown(wait=True, cancel_futures=False)

    # -- once per message, within the budget ---------------------------------------------------------

    def _reply_once(self, delivery_id: str, openid: str, owner: str, answer: Callable[[], str], deadline: float) -> str:
        """This message's passive reply text ("" for none); a retry never starts a second turn."""
        if self._gate.claim(delivery_id, owner):
            future: Future[tuple[str, str]] = self._pool.submit(self._run, delivery_id, openid, answer)
            try:
                text, fate = future.result(timeout=max(0.0, deadline - time.monotonic()))
                return text if fate == PASSIVE else ""
            except FutureTimeout:
                pass
        else:
            found = self._gate.wait(delivery_id, max(0.0, deadline - time.monotonic()))
            if found is not None:
                return str(found["text"]) if found["fate"] == PASSIVE else ""
        # Out of time: whoever settles the fate first wins; if the turn just finished, its text is passive.
        if self._gate.decide(delivery_id, DEFERRED) == DEFERRED:
            return ""
        found = self._gate.wait(delivery_id, 0.5)
        return str(found["text"]) if found is not None and found["fate"] == PASSIVE else ""

    def _run(self, delivery_id: str, openid: str, answer: Callable[[], str]) -> tuple[str, str]:
        with collecting(openid) as passive:
            try:
                text = answer()
            except Exception:
                log.exception("WeChat turn failed")
                text = texts.CANNOT_READ
        text = "\n\n".join(part for part in (text, *passive.texts) if part)
        # Too long for one passive reply: it goes out as several customer-service messages, in order.
        fits = len(texts.chunks(text)) == 1
        fate = self._gate.decide(delivery_id, PASSIVE if fits else DEFERRED)
        self._gate.finish(delivery_id, {"text": text, "fate": fate})
        if fate == DEFERRED and text:
            self._push(openid, text)
        return text, fate

    def _push(self, openid: str, text: str) -> None:
        try:
            for part in texts.chunks(text):
                self.api.send_text(openid, part)
        except WeChatApiError as exc:
            log.warning("late WeChat answer not sent", extra={"errcode": exc.errcode, "error": exc.message})

    # -- what to say -------------------------------------------------------------------------------------

    def _answer(self, message: Any, kind: str, openid: str, identity: UserIdentity) -> str:
        if kind == "text":
            return self._turn(openid, identity, str(message.content or ""))
        if kind == "voice" and getattr(message, "recognition", None):
            return self._turn(openid, identity, str(message.recognition))  # WeChat's speech recognition, if on
        if kind == "event":
            # Other events (menu clicks, scans, location reports, unsubscribes) need no answer.
            return self._welcome if str(getattr(message, "event", "")) in _SUBSCRIBE_EVENTS else ""
        return texts.UNSUPPORTED

    def _turn(self, openid: str, identity: UserIdentity, text: str) -> str:
        conversation = self._conversations.resolve(
            CHANNEL, openid, identity, idle_seconds=self._idle_seconds, reassign=True
        )
        options = self._options(conversation.id)
        choice = texts.chosen_option(text, len(options))
        chat = self._chat()
        try:
            if choice is not None:
                outcome = chat.post(conversation.id, quick_reply=options[choice])
            else:
                outcome = chat.post(conversation.id, text=text)
        except RateLimited:
            return texts.TOO_FAST
        except InvalidInput:
            return texts.CANNOT_READ
        except Conflict:
            return ""  # the conversation is busy with an earlier message, whose answer is on its way
        except AssistantError:
            log.warning("WeChat turn refused", exc_info=True)
            return texts.CANNOT_READ
        decision = outcome.decision
        if outcome.bot_message is None or decision is None:
            return ""  # relayed to an advisor, who answers through the CS API
        replies = decision.quick_replies
        self._remember_options(conversation.id, identity.id, [q.payload for q in replies])
        return texts.with_options(decision.text, [q.title for q in replies])

    def _options(self, conversation_id: str) -> list[str]:
        raw = self._keys.get_key(f"wechat:options:{conversation_id}")
        return [str(p) for p in json.loads(raw)] if raw else []

    def _remember_options(self, conversation_id: str, owner: str, payloads: list[str]) -> None:
        key = f"wechat:options:{conversation_id}"
        if payloads:
            # The key names the conversation, so purging the conversation alone also finds its ledger entry.
            self._ledger.record(owner, key, [key], ttl_seconds=None)
            self._keys.set_key(key, json.dumps(payloads, ensure_ascii=False), self._idle_seconds)
        else:
            self._keys.delete_key(key)


def _delivery_id(message: Any, kind: str) -> str:
    """WeChat's retry identity: MsgId for messages, sender + CreateTime (+ event) for events."""
    msg_id = getattr(message, "id", None)
    if kind != "event" and msg_id:
        return f"msg:{msg_id}"
    return f"evt:{message.source}:{message.time}:{getattr(message, 'event', '')}"
