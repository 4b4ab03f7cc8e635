"""Outbound webhooks: admin registration, signed deliveries, retries with backoff, dead letters and replay."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

from tests.channels.conftest import ChannelsApp
from tests.channels.fakes import Call, RecordingServer
from tests.handoff.conftest import bearer

HOOK = "/hooks/zhixing"


def verify(call: Call, secret: str, tolerance: float = 300) -> dict[str, Any]:
    """The receiver's check, written from the documented scheme."""
    timestamp = call.headers["x-timestamp"]
    expected = "sha256=" + hmac.new(secret.encode(), f"{timestamp}.".encode() + call.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(call.headers["x-signature"], expected), "bad signature"
    assert abs(time.time() - int(timestamp)) < tolerance
    return json.loads(call.body)  # type: ignore[no-any-return]


def subscribe(app: ChannelsApp, token: str, events: list[str]) -> dict[str, Any]:
    url = app.server.url + HOOK
    response = app.client.post("/v1/webhooks", json={"url": url, "events": events}, headers=bearer(token))
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def events_of(server: RecordingServer, secret: str) -> list[dict[str, Any]]:
    return [verify(c, secret) for c in server.received(HOOK)]


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_only_admins_manage_webhooks(app: ChannelsApp) -> None:
    agent = app.agent_token("bob", role="agent")
    body = {"url": "http://127.0.0.1:9/x", "events": ["message.created"]}
    assert app.client.post("/v1/webhooks", json=body).status_code == 401
    assert app.client.post("/v1/webhooks", json=body, headers=bearer(agent)).status_code == 403
    assert app.client.get("/v1/webhooks/dead-letters", headers=bearer(agent)).status_code == 403
    admin = app.agent_token("root", role="admin")
    bad = app.client.post("/v1/webhooks", json={**body, "events": ["everything"]}, headers=bearer(admin))
    assert bad.status_code == 422
    ftp = app.client.post("/v1/webhooks", json={**body, "url": "ftp://example.com/x"}, headers=bearer(admin))
    assert ftp.status_code == 400


def test_message_events_are_delivered_signed(app: ChannelsApp) -> None:
    app.server.on(HOOK, lambda call: (200, {"ok": True}))
    admin = app.agent_token("root", role="admin")
    created = subscribe(app, admin, ["message.created"])
    assert created["secret"].startswith("whsec_")
    listed = app.client.get("/v1/webhooks", headers=bearer(admin)).json()["webhooks"]
    assert [w["id"] for w in listed] == [created["id"]]
    assert "secret" not in listed[0]

    app.say("课程怎么退款", openid="o-hooked")
    wait_until(lambda: len(app.server.received(HOOK)) == 2)
    user_event, bot_event = sorted(events_of(app.server, created["secret"]), key=lambda e: e["data"]["message"]["seq"])
    assert user_event["type"] == bot_event["type"] == "message.created"
    assert user_event["data"]["message"]["text"] == "课程怎么退款"
    assert (user_event["data"]["channel"], user_event["data"]["external_id"]) == ("wechat", "o-hooked")
    assert "7天内" in bot_event["data"]["message"]["text"]
    assert "internal" not in bot_event["data"]["message"]
    call = app.server.received(HOOK)[0]
    assert call.headers["x-webhook-event"] == "message.created"
    assert call.headers["x-webhook-id"].startswith("evt_")


def test_handoff_and_feedback_events(app: ChannelsApp) -> None:
    app.server.on(HOOK, lambda call: (204, b""))
    admin = app.agent_token("root", role="admin")
    created = subscribe(app, admin, ["handoff.created", "handoff.resolved", "feedback.created"])
    conv = app.client.post("/v1/conversations").json()
    auth = {"Authorization": f"Bearer {conv['token']}"}
    url = f"/v1/conversations/{conv['conversation_id']}"
    answer = app.client.post(f"{url}/messages", json={"text": "课程怎么退款"}, headers=auth).json()
    app.client.post(f"{url}/feedback", json={"message_id": answer["message_id"], "rating": "up"}, headers=auth)
    handoff = app.client.post(f"{url}/messages", json={"quick_reply": "handoff"}, headers=auth).json()["handoff"]
    app.client.post(f"/v1/handoff/tickets/{handoff['ticket_id']}/claim", headers=bearer(admin))
    app.client.post(f"/v1/handoff/tickets/{handoff['ticket_id']}/resolve", json={}, headers=bearer(admin))
    wait_until(lambda: len(app.server.received(HOOK)) == 3)
    by_type = {e["type"]: e["data"] for e in events_of(app.server, created["secret"])}
    assert by_type["feedback.created"]["rating"] == "up"
    assert by_type["feedback.created"]["message_id"] == answer["message_id"]
    assert by_type["handoff.created"]["ticket_id"] == handoff["ticket_id"]
    assert by_type["handoff.created"]["channel"] == "web"
    assert by_type["handoff.resolved"]["resolved_by"] == "root"


def test_failing_receiver_is_retried_with_backoff_until_it_succeeds(app: ChannelsApp) -> None:
    answers = [(500, b"oops"), (503, b"down")]
    app.server.on(HOOK, lambda call: answers.pop(0) if answers else (200, b"{}"))
    admin = app.agent_token("root", role="admin")
    created = subscribe(app, admin, ["handoff.created"])
    app.say("转人工", openid="o-retry-hook")
    wait_until(lambda: len(app.server.received(HOOK)) == 3)
    calls = app.server.received(HOOK)
    assert len({verify(c, created["secret"])["id"] for c in calls}) == 1  # the same event each time
    assert {c.headers["x-webhook-delivery"] for c in calls} == {calls[0].headers["x-webhook-delivery"]}
    wait_until(lambda: not app.runtime.store.list("webhook_delivery"))  # delivered deliveries are forgotten
    time.sleep(0.3)
    assert len(app.server.received(HOOK)) == 3
    assert app.client.get("/v1/webhooks/dead-letters", headers=bearer(admin)).json()["dead_letters"] == []


def test_dead_letters_after_max_attempts_and_admin_replay(app: ChannelsApp) -> None:
    healthy = False
    app.server.on(HOOK, lambda call: (200, b"{}") if healthy else (500, b"still broken"))
    admin = app.agent_token("root", role="admin")
    created = subscribe(app, admin, ["handoff.created"])
    app.say("转人工", openid="o-dead")

    def dead() -> list[dict[str, Any]]:
        return app.client.get("/v1/webhooks/dead-letters", headers=bearer(admin)).json()["dead_letters"]  # type: ignore[no-any-return]

    wait_until(lambda: len(dead()) == 1)
    [letter] = dead()
    assert letter["attempts"] == app.settings.webhook_max_attempts == len(app.server.received(HOOK))
    assert letter["last_error"] == "HTTP 500"
    assert json.loads(letter["body"])["type"] == "handoff.created"

    healthy = True
    replay = app.client.post(f"/v1/webhooks/dead-letters/{letter['id']}/replay", headers=bearer(admin))
    assert replay.status_code == 202
    wait_until(lambda: len(app.server.received(HOOK)) == 4)
    assert verify(app.server.received(HOOK)[-1], created["secret"])["type"] == "handoff.created"
    wait_until(lambda: dead() == [])
    missing = app.client.post(f"/v1/webhooks/dead-letters/{letter['id']}/replay", headers=bearer(admin))
    assert missing.status_code == 404


def test_unsubscribed_urls_get_nothing(app: ChannelsApp) -> None:
    app.server.on(HOOK, lambda call: (200, b"{}"))
    admin = app.agent_token("root", role="admin")
    created = subscribe(app, admin, ["message.created"])
    assert app.client.delete(f"/v1/webhooks/{created['id']}", headers=bearer(admin)).status_code == 204
    assert app.client.delete(f"/v1/webhooks/{created['id']}", headers=bearer(admin)).status_code == 404
    app.say("课程怎么退款", openid="o-unsub")
    time.sleep(0.2)
    assert app.server.received(HOOK) == []


def test_queued_deliveries_survive_a_restart(make_app: Callable[..., ChannelsApp]) -> None:
    first = make_app(db="durable.db")
    first.server.on(HOOK, lambda call: (200, b"{}"))
    admin = first.agent_token("root", role="admin")
    created = subscribe(first, admin, ["handoff.created"])
    first.runtime.components["webhook_dispatcher"].stop()  # the worker dies before sending
    first.say("转人工", openid="o-durable")
    assert len(first.runtime.store.list("webhook_delivery")) == 1
    first.stop()

    second = make_app(db="durable.db")  # a restart on the same store
    wait_until(lambda: len(second.server.received(HOOK)) == 1)
    assert verify(second.server.received(HOOK)[0], created["secret"])["type"] == "handoff.created"
