"""Signed inbound webhooks: valid turns, forged and stale signatures, idempotent replays, unknown channels."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from httpx import Response

from tests.channels.conftest import WEBHOOK_SECRET, ChannelsApp


def sign(body: bytes, *, secret: str = WEBHOOK_SECRET, at: int | None = None) -> dict[str, str]:
    """The caller's side of the scheme, written independently of the code under test."""
    timestamp = str(int(time.time()) if at is None else at)
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return {"X-Timestamp": timestamp, "X-Signature": f"sha256={digest}", "Content-Type": "application/json"}


def turn(
    text: str = "课程怎么退款", *, user: str = "u-crm-1", conversation: str = "crm-thread-1", **extra: Any
) -> bytes:
    payload: dict[str, Any] = {
        "user": {"id": user, "tier": "member", "name": "李同学"},
        "conversation_id": conversation,
    }
    payload.update({"text": text} if text else {})
    payload.update(extra)
    return json.dumps(payload, ensure_ascii=False).encode()


def post(app: ChannelsApp, body: bytes, headers: dict[str, str], channel: str = "crm") -> Response:
    return app.client.post(f"/channels/webhook/{channel}", content=body, headers=headers)


def test_signed_turn_returns_the_chat_api_shape(app: ChannelsApp) -> None:
    body = turn()
    response = post(app, body, sign(body))
    assert response.status_code == 200, response.text
    decision = response.json()
    assert decision["action"] == "answer"
    assert "7天内" in decision["reply"]["text"]
    assert decision["sources"][0]["id"] == "refund-course"
    assert decision["message_id"] == decision["bot_message"]["message_id"]
    [conversation] = app.runtime.components["services"].chat.repo.list_for_user("u-crm-1")
    assert (conversation.channel, conversation.external_id, conversation.tier) == ("crm", "crm-thread-1", "member")


def test_the_callers_conversation_id_maps_to_one_of_ours(app: ChannelsApp) -> None:
    for text in ("课程怎么退款", "退款多久到账"):
        body = turn(text)
        post(app, body, sign(body))
    other = turn(conversation="crm-thread-2")
    post(app, other, sign(other))
    conversations = app.runtime.components["services"].chat.repo.list_for_user("u-crm-1")
    assert sorted(c.external_id for c in conversations) == ["crm-thread-1", "crm-thread-2"]
    body = turn(user="u-intruder")  # another user cannot post into that thread
    assert post(app, body, sign(body)).status_code == 409


def test_quick_reply_turns(app: ChannelsApp) -> None:
    body = turn("", quick_reply="handoff")
    decision = post(app, body, sign(body)).json()
    assert decision["action"] == "handoff"
    assert decision["handoff"]["queue_position"] == 1


@pytest.mark.parametrize(
    "forge",
    ["wrong secret", "tampered body", "other timestamp", "no prefix", "missing signature", "missing timestamp"],
)
def test_bad_signatures_are_rejected(app: ChannelsApp, forge: str) -> None:
    body = turn()
    headers = sign(body)
    if forge == "wrong secret":
        headers = sign(body, secret="guessed")
    elif forge == "tampered body":
        body = turn("转人工")
    elif forge == "other timestamp":
        headers["X-Timestamp"] = str(int(headers["X-Timestamp"]) + 1)
    elif forge == "no prefix":
        headers["X-Signature"] = headers["X-Signature"].removeprefix("sha256=")
    elif forge == "missing signature":
        del headers["X-Signature"]
    else:
        del headers["X-Timestamp"]
    response = post(app, body, headers)
    assert response.status_code in (401, 403)
    assert response.json()["error"]["message"]
    assert app.engine.turns == 0


def test_stale_timestamps_are_rejected(app: ChannelsApp) -> None:
    body = turn()
    response = post(app, body, sign(body, at=int(time.time()) - 3600))
    assert response.status_code == 403
    assert "stale" in response.json()["error"]["message"]
    assert app.engine.turns == 0


def test_unknown_channel_is_404(app: ChannelsApp) -> None:
    body = turn()
    response = post(app, body, sign(body), channel="slack")
    assert response.status_code == 404
    assert "slack" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"[]", b'{"user": {"id": "u"}, "conversation_id": "c"}', turn(tier="platinum")],
    ids=["broken", "array", "no text", "unknown field"],
)
def test_bad_bodies_get_4xx(app: ChannelsApp, body: bytes) -> None:
    response = post(app, body, sign(body))
    assert 400 <= response.status_code < 500
    assert app.engine.turns == 0


def test_idempotency_key_replays_the_first_response(app: ChannelsApp) -> None:
    body = turn()
    headers = {**sign(body), "Idempotency-Key": "req-001"}
    first = post(app, body, headers)
    again = post(app, body, {**sign(body), "Idempotency-Key": "req-001"})
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert app.engine.turns == 1
    reused = turn("退款多久到账")
    conflict = post(app, reused, {**sign(reused), "Idempotency-Key": "req-001"})
    assert conflict.status_code == 409
    assert "different request body" in conflict.json()["error"]["message"]


def test_concurrent_duplicates_make_one_turn(app: ChannelsApp) -> None:
    app.engine.delay = 0.2
    body = turn()
    barrier = threading.Barrier(3)

    def send() -> Response:
        barrier.wait()
        return post(app, body, {**sign(body), "Idempotency-Key": "req-race"})

    with ThreadPoolExecutor(3) as pool:
        responses = list(pool.map(lambda _: send(), range(3)))
    assert app.engine.turns == 1
    assert len({r.json()["message_id"] for r in responses}) == 1
