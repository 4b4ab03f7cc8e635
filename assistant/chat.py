"""The chat service: one user turn end to end — store the message, decide, store and publish the reply."""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from assistant import events as ev
from assistant.auth import UserIdentity
from assistant.conversations import Conversation, ConversationRepository, message_to_json
from assistant.dialogue import Decision, DialogueEngine, DialogueState, UserTurn
from assistant.errors import Conflict, InvalidInput
from assistant.events import EventRecorder
from assistant.live import conversation_topic, publish_message, publish_typing
from assistant.ratelimit import RateLimiter
from storage.ports import EventBus, Store, StoredMessage

TURN_LOCK_SECONDS = 30.0


class Escalator(Protocol):
    """What the chat service needs from the handoff side."""

    def escalate(
        self,
        conversation: Conversation,
        *,
        reason: str,
        trail: Sequence[Mapping[str, Any]],
        agents_available: bool,
        now: float | None = None,
        messages: Sequence[StoredMessage] | None = None,
    ) -> Any: ...

    def on_user_message(self, conversation: Conversation, message: StoredMessage) -> None: ...

    def record_csat(self, conversation_id: str, score: int) -> Any: ...


@dataclass(frozen=True)
class TurnOutcome:
    """The result of one user turn as the API returns it."""

    conversation: Conversation
    user_message: StoredMessage
    bot_message: StoredMessage | None
    decision: Decision | None
    handoff: dict[str, Any] | None

    @property
    def action(self) -> str:
        """The decision's action, or `relay` when the message went to a human advisor."""
        return self.decision.action if self.decision and self.bot_message else "relay"


def clean_text(text: str, max_chars: int) -> str:
    """Strip control characters and surrounding space; reject empty or over-long text with a clear message."""
    cleaned = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cs", "Co"))
    cleaned = cleaned.strip()
    if not cleaned:
        raise InvalidInput("message text is empty")
    if len(cleaned) > max_chars:
        raise InvalidInput(f"message is too long: {len(cleaned)} characters, at most {max_chars}")
    return cleaned


class ChatService:
    """Runs turns for conversations in any channel (widget, WeChat, webhooks)."""

    def __init__(
        self,
        store: Store,
        bus: EventBus,
        engine: Callable[[], DialogueEngine],
        *,
        escalator: Escalator | None = None,
        max_message_chars: int = 2000,
        user_rate_limit: int = 60,
        redact: Callable[[str], str] | None = None,
        clock: Callable[[], float] = time.time,
        outbox: Callable[[str, Mapping[str, Any]], None] | None = None,
    ) -> None:
        self.store = store
        self.bus = bus
        self.repo = ConversationRepository(store)
        self.events = EventRecorder(store)
        self._engine = engine
        self.escalator = escalator
        self.max_message_chars = max_message_chars
        self.limiter = RateLimiter(store)
        self.user_rate_limit = user_rate_limit
        self._redact = redact
        self.clock = clock
        self._outbox = outbox  # channels hook: outbound webhooks (message.created, feedback.created)

    # -- conversations -------------------------------------------------------------------------------

    def start(
        self, identity: UserIdentity, *, channel: str, locale: str | None = None, external_id: str | None = None
    ) -> Conversation:
        """Create a conversation (and the user's profile on first contact)."""
        user = self.repo.ensure_user(
            identity.id, tier=identity.tier, name=identity.name, channel=channel, anonymous=identity.anonymous
        )
        conv = self.repo.create(user, channel=channel, external_id=external_id)
        if locale:
            conv = self.repo.update(conv.id, locale=locale)
        self.events.record(
            ev.CONVERSATION_STARTED,
            conversation_id=conv.id,
            user_id=user.id,
            data={"channel": channel, "tier": user.tier},
        )
        return conv

    # -- turns ------------------------------------------------------------------------------------------

    def post(
        self,
        conversation_id: str,
        *,
        text: str | None = None,
        quick_reply: str | None = None,
        conversation: Conversation | None = None,
    ) -> TurnOutcome:
        """Handle one user turn. The user's message is durable before anything else happens.

        `conversation`: the conversation as the caller has just read it (authorising the turn), so it is not read
        once more before the turn lock; under the lock it is read again, as whatever it says may have changed.
        """
        conv = conversation if conversation is not None else self.repo.require(conversation_id)
        if text is not None:
            text = clean_text(text, self.max_message_chars)
        elif quick_reply is not None:
            quick_reply = clean_text(quick_reply, 200)
        else:
            raise InvalidInput("send `text` or `quick_reply`")
        self.limiter.check("user", conv.user_id, self.user_rate_limit)
        with TurnLock(self.store, conv.id):
            return self._post_locked(conv.id, text, quick_reply)

    def _post_locked(self, conversation_id: str, text: str | None, quick_reply: str | None) -> TurnOutcome:
        conv = self.repo.require(conversation_id)
        shown = text if text is not None else (quick_reply or "")
        stored_text = self._redact(shown) if self._redact else shown
        user_data: dict[str, Any] = {"quick_reply": quick_reply} if quick_reply is not None else {}
        user_msg = self.repo.append(conv.id, "user", stored_text, user_data)
        if user_msg is None:  # pragma: no cover - unconditional appends always succeed
            raise Conflict("could not store the message")
        self._emit_message(user_msg)  # channels hook
        if conv.mode != "bot":
            self._relay(conv, user_msg)
            return TurnOutcome(conv, user_msg, None, None, None)
        publish_message(self.bus, user_msg)
        publish_typing(self.bus, conv.id, "bot", True)
        before = DialogueState.from_dict(self.repo.load_state(conv.id) or {"tier": conv.tier})
        if before.handed_off:
            # The advisor resolved the ticket and gave the conversation back: start the bot's counters afresh.
            before = replace(before, handed_off=False, handoff_reason=None, consecutive_fallbacks=0, pending=None)
        now = self.clock()
        turn = UserTurn(
            # With redaction on, the engine sees the redacted text too: its trace and state are stored as well.
            text=stored_text if text is not None and self._redact else text,
            quick_reply=quick_reply,
            tier=conv.tier,
            channel=conv.channel,
            locale=conv.locale,
            now=datetime.fromtimestamp(now, UTC),
        )
        decision, after = self._engine().decide(before, turn)
        escalating = decision.action == "handoff" and self.escalator is not None
        # State, reply and the turn's events in one commit (one flush to disk, not three), before anyone sees the
        # reply. A handoff records its events after the ticket, as before.
        with self.store.write_group():
            self.repo.save_state(conv, after.to_dict())
            bot_msg = self.repo.append(conv.id, "bot", decision.text, _bot_data(decision), only_if_mode="bot")
            if bot_msg is not None and not escalating:
                self._record_turn(conv, user_msg, decision, before, after, now)
        if bot_msg is None:
            # An advisor claimed the conversation while the bot was thinking: the reply is dropped.
            publish_typing(self.bus, conv.id, "bot", False)
            return TurnOutcome(conv, user_msg, None, decision, None)
        publish_message(self.bus, bot_msg)
        self._emit_message(bot_msg)  # channels hook
        handoff = None
        if escalating:
            handoff = self._escalate(conv, decision, now)
            self._record_turn(conv, user_msg, decision, before, after, now)
        # Only an escalation changes the conversation during a turn (it holds the turn lock meanwhile).
        return TurnOutcome(self.repo.require(conv.id) if handoff else conv, user_msg, bot_msg, decision, handoff)

    def _relay(self, conv: Conversation, message: StoredMessage) -> None:
        if self.escalator is not None:
            self.escalator.on_user_message(conv, message)
        else:
            publish_message(self.bus, message)

    def _escalate(self, conv: Conversation, decision: Decision, now: float) -> dict[str, Any]:
        assert self.escalator is not None
        messages = self.repo.messages(conv.id)  # read once: the trail and the handoff packet both need it
        ticket = self.escalator.escalate(
            conv,
            reason=decision.handoff_reason or "explicit_request",
            trail=_trail(messages),
            agents_available=decision.agents_available,
            now=now,
            messages=messages,
        )
        return {
            "ticket_id": ticket.id,
            "reason": ticket.reason,
            "queue_position": ticket.queue_position,
            "eta_seconds": ticket.eta_seconds,
            "agents_available": decision.agents_available,
        }

    def _record_turn(
        self,
        conv: Conversation,
        user_msg: StoredMessage,
        decision: Decision,
        before: DialogueState,
        after: DialogueState,
        now: float,
    ) -> None:
        intent = decision.intent
        base = {"channel": conv.channel, "tier": conv.tier}
        turn: dict[str, Any] = {
            **base,
            "action": decision.action,
            "intent": intent.intent if intent else None,
            "confidence": round(intent.confidence, 4) if intent else None,
            "faq_id": decision.faq_id,
            "sources": [s.faq_id for s in decision.sources],
            "follow_up": decision.trace.follow_up,
            "message_id": user_msg.id,
        }
        batch: list[tuple[str, dict[str, Any]]] = [(ev.TURN, turn)]
        if decision.action == "clarify":
            batch.append((ev.CLARIFY_ASKED, {**base, "kind": after.pending.kind if after.pending else ""}))
        if before.pending is not None and after.pending is None and decision.action == "answer":
            batch.append((ev.CLARIFY_RESOLVED, {**base, "faq_id": decision.faq_id}))
        if decision.action in ("fallback", "handoff"):
            batch.append(
                (
                    ev.FALLBACK if decision.action == "fallback" else ev.TURN_UNRESOLVED,
                    # Intent, reason and quick-reply flag let gap analysis skip turns that only ask for a person.
                    {
                        **base,
                        "text": user_msg.text,
                        "intent": turn["intent"],
                        "reason": decision.handoff_reason,
                        "quick_reply": "quick_reply" in user_msg.data,
                    },
                )
            )
        if decision.resolved_confirmation:
            batch.append((ev.RESOLUTION_CONFIRMED, {**base, "via": "thanks"}))
        self.events.record_many(batch, conversation_id=conv.id, user_id=conv.user_id, at=now)

    # -- feedback ----------------------------------------------------------------------------------------

    def feedback(self, conversation_id: str, message_id: str, rating: str) -> None:
        """Thumbs up/down on one bot answer."""
        conv = self.repo.require(conversation_id)
        message = self.store.get_message(message_id)
        if message is None or message.conversation_id != conv.id or message.role != "bot":
            raise InvalidInput("message_id is not an answer of this conversation")
        data = {"message_id": message_id, "rating": rating, "faq_id": message.data.get("faq_id")}
        batch: list[tuple[str, dict[str, Any]]] = [(ev.FEEDBACK, {**data, "channel": conv.channel, "tier": conv.tier})]
        if rating == "up":
            batch.append((ev.RESOLUTION_CONFIRMED, {"via": "feedback", "channel": conv.channel, "tier": conv.tier}))
        self.events.record_many(batch, conversation_id=conv.id, user_id=conv.user_id)
        if self._outbox is not None:  # channels hook
            self._outbox("feedback.created", {**data, "conversation_id": conv.id})

    def _emit_message(self, message: StoredMessage) -> None:
        """Channels hook: tell the outbox (outbound webhooks) about a stored message."""
        if self._outbox is not None:
            self._outbox(
                "message.created", {"conversation_id": message.conversation_id, "message": message_to_json(message)}
            )

    def csat(self, conversation_id: str, score: int, comment: str | None = None) -> None:
        """The user's 1–5 rating of the human help they got."""
        conv = self.repo.require(conversation_id)
        if self.escalator is None:
            raise InvalidInput("this conversation had no human help to rate")
        ticket = self.escalator.record_csat(conv.id, score)
        self.events.record(
            ev.CSAT,
            conversation_id=conv.id,
            user_id=conv.user_id,
            data={"score": score, "ticket_id": ticket.id, "tier": conv.tier, "channel": conv.channel},
        )

    def transcript(self, conversation_id: str, *, after_seq: int = 0) -> list[dict[str, Any]]:
        """The public transcript after a sequence number."""
        return [message_to_json(m) for m in self.repo.messages(conversation_id, after_seq=after_seq)]


def _trail(messages: Sequence[StoredMessage]) -> list[dict[str, Any]]:
    """Per bot turn: the user's text, intent and confidence, action, FAQ and the evidence retrieval found."""
    trail: list[dict[str, Any]] = []
    last_user = ""
    for message in messages:
        if message.role == "user":
            last_user = message.text
        elif message.role == "bot" and "action" in message.data:
            internal = message.data.get("internal", {})
            intent = message.data.get("intent") or {}
            trail.append(
                {
                    "text": last_user,
                    "intent": intent.get("name"),
                    "confidence": intent.get("confidence"),
                    "action": message.data.get("action"),
                    "faq_id": message.data.get("faq_id"),
                    "evidence": internal.get("queries", []),
                    "sentiment": internal.get("sentiment", 0.0),
                }
            )
    return trail


def _bot_data(decision: Decision) -> dict[str, Any]:
    full = decision.to_dict()
    intent = decision.intent
    return {
        "action": decision.action,
        "quick_replies": full["quick_replies"],
        "intent": {"name": intent.intent, "confidence": round(intent.confidence, 4)} if intent else None,
        "sources": [{"id": s.faq_id, "score": round(s.score, 4)} for s in decision.sources],
        "faq_id": decision.faq_id,
        "locale": decision.locale,
        # Kept for the handoff packet and analytics; never sent to the user.
        "internal": full["trace"],
    }


class TurnLock:
    """Serialises the turns of one conversation across threads and workers (a key with a TTL in the store)."""

    def __init__(self, store: Store, conversation_id: str, wait_seconds: float = TURN_LOCK_SECONDS) -> None:
        self._store = store
        self._key = f"lock:turn:{conversation_id}"
        self._wait = wait_seconds

    def __enter__(self) -> TurnLock:
        deadline = time.monotonic() + self._wait
        delay = 0.002
        while not self._store.set_once(self._key, "1", TURN_LOCK_SECONDS):
            if time.monotonic() > deadline:
                raise Conflict("another message of this conversation is still being answered; retry")
            time.sleep(delay)
            delay = min(delay * 2, 0.05)
        return self

    def __exit__(self, *_: object) -> None:
        self._store.delete_key(self._key)


__all__ = ["ChatService", "Escalator", "TurnLock", "TurnOutcome", "clean_text", "conversation_topic"]
