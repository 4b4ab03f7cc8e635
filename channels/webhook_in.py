"""Signed inbound webhooks: a channel's caller posts a user turn and gets the bot's decision back, exactly once."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from assistant.auth import UserIdentity
from assistant.chat import ChatService, TurnOutcome
from assistant.errors import Conflict, InvalidInput, NotFound
from assistant.privacy.keys import KeyLedger
from channels import signing
from channels.conversations import ChannelConversations
from channels.dedup import OnceGate
from storage.ports import Store

IDEMPOTENCY_SECONDS = 24 * 3600.0
_WAIT_FOR_FIRST_SECONDS = 10.0
MAX_KEY_CHARS = 200
Render = Callable[[TurnOutcome], dict[str, Any]]


class WebhookUser(BaseModel):
    """The platform user the caller speaks for."""

    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1, max_length=128)
    tier: Literal["free", "member", "vip"] = "free"
    name: str = Field("", max_length=64)


class WebhookTurn(BaseModel):
    """Body of `POST /channels/webhook/{channel}`: the user, the caller's conversation id, and the turn."""

    model_config = ConfigDict(extra="forbid")
    user: WebhookUser
    conversation_id: str = Field(min_length=1, max_length=128)
    text: str | None = None
    quick_reply: str | None = Field(None, max_length=200)

    @model_validator(mode="after")
    def _one_of(self) -> WebhookTurn:
        if (self.text is None) == (self.quick_reply is None):
            raise ValueError("send exactly one of `text` or `quick_reply`")
        return self


class InboundWebhooks:
    """Verifies the channel's HMAC signature, maps the caller's conversation id to ours, runs the turn."""

    def __init__(
        self,
        store: Store,
        *,
        secrets: Mapping[str, str],
        conversations: ChannelConversations,
        chat: Callable[[], ChatService],
        tolerance_seconds: float = 300,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._secrets = dict(secrets)
        self._conversations = conversations
        self._chat = chat
        self._tolerance = tolerance_seconds
        self.clock = clock
        # The stored first response holds the user's conversation: erasing the user deletes it (the ledger).
        self._gate = OnceGate(store, "webhook-idem", IDEMPOTENCY_SECONDS, ledger=KeyLedger(store))

    def handle(
        self, channel: str, headers: Mapping[str, str], body: bytes, idempotency_key: str | None, render: Render
    ) -> dict[str, Any]:
        """The response body for one signed request; a repeated Idempotency-Key gets the first response."""
        secret = self._secrets.get(channel)
        if not secret:
            raise NotFound(f"unknown channel {channel!r}: no webhook secret is configured for it")
        signing.verify(secret, headers, body, tolerance_seconds=self._tolerance, clock=self.clock)
        turn = _parse(body)
        if idempotency_key is None:
            return self._turn(channel, turn, render)
        if not 1 <= len(idempotency_key) <= MAX_KEY_CHARS:
            raise InvalidInput(f"Idempotency-Key must have 1 to {MAX_KEY_CHARS} characters")
        scope = hashlib.sha256(f"{channel}\n{idempotency_key}".encode()).hexdigest()
        digest = hashlib.sha256(body).hexdigest()
        if self._gate.claim(scope, turn.user.id):
            try:
                response = self._turn(channel, turn, render)
            except Exception:
                self._gate.release(scope)  # nothing was answered: a retry with this key may try again
                raise
            self._gate.finish(scope, {"digest": digest, "response": response})
            return response
        first = self._gate.wait(scope, _WAIT_FOR_FIRST_SECONDS)
        if first is None:
            raise Conflict("a request with this Idempotency-Key is still being processed; retry shortly")
        if first["digest"] != digest:
            raise Conflict("this Idempotency-Key was already used with a different request body")
        return dict(first["response"])

    def _turn(self, channel: str, turn: WebhookTurn, render: Render) -> dict[str, Any]:
        identity = UserIdentity(id=turn.user.id, tier=turn.user.tier, name=turn.user.name)
        conversation = self._conversations.resolve(channel, turn.conversation_id, identity)
        outcome = self._chat().post(conversation.id, text=turn.text, quick_reply=turn.quick_reply)
        return render(outcome)


def _parse(body: bytes) -> WebhookTurn:
    try:
        return WebhookTurn.model_validate_json(body)
    except ValidationError as exc:
        problems = []
        for error in exc.errors()[:5]:
            where = ".".join(str(p) for p in error.get("loc", ()))
            problems.append(f"{where}: {error.get('msg', 'invalid')}" if where else str(error.get("msg", "invalid")))
        raise InvalidInput("invalid webhook body: " + "; ".join(problems)) from None
