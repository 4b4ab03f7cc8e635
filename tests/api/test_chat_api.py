"""The chat API over HTTP and WebSocket, with a scripted engine: contracts, auth, errors, live events."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from assistant.auth import issue_user_token
from assistant.settings import DEV_USER_SECRET
from tests.dialogue.fakes import FakeIntents


def start(client: TestClient, token: str | None = None) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = client.post("/v1/conversations", headers=headers)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def say(client: TestClient, conv: dict[str, Any], **body: Any) -> Any:
    return client.post(
        f"/v1/conversations/{conv['conversation_id']}/messages",
        json=body,
        headers={"Authorization": f"Bearer {conv['token']}"},
    )


def test_answer_has_the_documented_shape(client: TestClient) -> None:
    conv = start(client)
    response = say(client, conv, text="课程怎么退款")
    assert response.status_code == 200
    body = response.json()
    assert body["action"] == "answer"
    assert "7天" in body["reply"]["text"]
    assert body["sources"][0]["id"] == "refund-course"
    assert body["handoff"] is None
    assert body["message_id"] == body["bot_message"]["message_id"]


def test_follow_up_uses_the_conversation(client: TestClient, fake_intents: FakeIntents) -> None:
    conv = start(client)
    say(client, conv, text="课程怎么退款")
    response = say(client, conv, text="退款多久到账")
    assert response.json()["sources"][0]["id"] == "refund-arrival"


def test_transcript_in_order_and_after(client: TestClient) -> None:
    conv = start(client)
    first = say(client, conv, text="课程怎么退款").json()
    say(client, conv, text="退款多久到账")
    auth = {"Authorization": f"Bearer {conv['token']}"}
    url = f"/v1/conversations/{conv['conversation_id']}/messages"
    messages = client.get(url, headers=auth).json()["messages"]
    assert [m["role"] for m in messages] == ["user", "bot", "user", "bot"]
    assert [m["seq"] for m in messages] == [1, 2, 3, 4]
    assert "internal" not in messages[1]
    later = client.get(url, params={"after": first["message_id"]}, headers=auth).json()["messages"]
    assert next(m["text"] for m in later) == "退款多久到账"


def test_explicit_handoff_creates_a_ticket(client: TestClient) -> None:
    conv = start(client)
    response = say(client, conv, quick_reply="handoff")
    body = response.json()
    assert body["action"] == "handoff"
    assert body["handoff"]["queue_position"] == 1
    assert body["handoff"]["reason"] == "explicit_request"
    # While waiting for an advisor the bot stays silent: the next message is relayed.
    relayed = say(client, conv, text="课程怎么退款").json()
    assert relayed["action"] == "relay"
    assert relayed["reply"] is None


def test_one_token_reads_one_conversation(client: TestClient) -> None:
    a, b = start(client), start(client)
    response = client.get(
        f"/v1/conversations/{b['conversation_id']}/messages", headers={"Authorization": f"Bearer {a['token']}"}
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    missing = client.get(f"/v1/conversations/{a['conversation_id']}/messages")
    assert missing.status_code == 401


def test_user_jwt_owner_can_read_and_tier_is_kept(client: TestClient) -> None:
    token = issue_user_token("u-42", DEV_USER_SECRET, tier="vip", name="王同学")
    conv = start(client, token)
    assert conv["tier"] == "vip"
    say(client, conv, text="课程怎么退款")
    owner = client.get(
        f"/v1/conversations/{conv['conversation_id']}/messages", headers={"Authorization": f"Bearer {token}"}
    )
    assert owner.status_code == 200
    other = issue_user_token("u-43", DEV_USER_SECRET)
    denied = client.get(
        f"/v1/conversations/{conv['conversation_id']}/messages", headers={"Authorization": f"Bearer {other}"}
    )
    assert denied.status_code == 403


def test_bad_input_gets_clear_4xx(client: TestClient) -> None:
    conv = start(client)
    assert say(client, conv).status_code == 422
    assert say(client, conv, text="hi", quick_reply="x").status_code == 422
    empty = say(client, conv, text="\u0000\u0007  ")
    assert empty.status_code == 400
    assert "empty" in empty.json()["error"]["message"]
    long = say(client, conv, text="退" * 10_000)
    assert long.status_code == 400
    assert "too long" in long.json()["error"]["message"]
    raw = client.post(
        f"/v1/conversations/{conv['conversation_id']}/messages",
        content=b"{not json",
        headers={"Authorization": f"Bearer {conv['token']}", "Content-Type": "application/json"},
    )
    assert raw.status_code == 422
    huge = client.post(
        f"/v1/conversations/{conv['conversation_id']}/messages",
        content=b"x" * 2_000_000,
        headers={"Authorization": f"Bearer {conv['token']}", "Content-Type": "application/json"},
    )
    assert huge.status_code == 413
    assert say(client, conv, text="🙂🙂🙂").status_code == 200


def test_websocket_streams_and_resumes_without_gaps(client: TestClient) -> None:
    conv = start(client)
    cid, token = conv["conversation_id"], conv["token"]
    with client.websocket_connect(f"/v1/conversations/{cid}/ws?token={token}") as ws:
        say(client, conv, text="课程怎么退款")
        seen = []
        while len(seen) < 2:
            event = ws.receive_json()
            if event["type"] == "message":
                seen.append(event["message"])
        assert [m["role"] for m in seen] == ["user", "bot"]
    # Messages sent while disconnected arrive on reconnect, once, in order.
    say(client, conv, text="退款多久到账")
    with client.websocket_connect(f"/v1/conversations/{cid}/ws?token={token}&after_seq=2") as ws:
        replay = [ws.receive_json()["message"] for _ in range(2)]
    assert [m["seq"] for m in replay] == [3, 4]


def test_websocket_rejects_a_foreign_token(client: TestClient) -> None:
    a, b = start(client), start(client)
    with client.websocket_connect(f"/v1/conversations/{b['conversation_id']}/ws?token={a['token']}") as ws:
        message = ws.receive()
    assert message["type"] == "websocket.close"
    assert message["code"] == 4403
