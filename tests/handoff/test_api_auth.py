"""Agent login and the bearer on every agent endpoint: 401 without a valid token, 403 for non-admins."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from assistant.auth import AgentIdentity, issue_agent_token, issue_conversation_token
from tests.handoff.conftest import PASSWORD, SECRET, World, bearer

AGENT_ENDPOINTS = [
    ("GET", "/v1/agents/me", None),
    ("GET", "/v1/agents", None),
    ("GET", "/v1/handoff/tickets", None),
    ("GET", "/v1/handoff/tickets/t1", None),
    ("POST", "/v1/handoff/tickets/t1/claim", None),
    ("POST", "/v1/handoff/tickets/t1/messages", {"text": "hi"}),
    ("POST", "/v1/handoff/tickets/t1/notes", {"text": "hi"}),
    ("POST", "/v1/handoff/tickets/t1/transfer", {"to": "bob"}),
    ("POST", "/v1/handoff/tickets/t1/resolve", {"note": ""}),
    ("POST", "/v1/handoff/tickets/t1/typing", {"active": True}),
    ("GET", "/v1/handoff/tickets/t1/suggestions", None),
]
ADMIN_ENDPOINTS = [
    ("POST", "/v1/agents", {"username": "newbie", "password": "long-enough-pw"}),
    ("GET", "/v1/kb/candidates", None),
    ("PUT", "/v1/kb/candidates/c1", {"answer": "x"}),
    ("POST", "/v1/kb/candidates/c1/publish", None),
    ("DELETE", "/v1/kb/candidates/c1", None),
]
BAD_TOKENS = [
    "not-a-jwt",
    issue_agent_token(AgentIdentity("alice", "admin"), "some-other-secret-0123456789abcdef", 3600),
    issue_agent_token(AgentIdentity("alice", "admin"), SECRET, -10),  # expired
    issue_agent_token(AgentIdentity("ghost", "admin"), SECRET, 3600),  # no such account
    issue_conversation_token("c1", "u1", SECRET),  # a user's token is not an agent's
]


@pytest.mark.parametrize(("method", "path", "body"), AGENT_ENDPOINTS + ADMIN_ENDPOINTS)
def test_every_endpoint_requires_an_agent_token(
    client: TestClient, world: World, method: str, path: str, body: object
) -> None:
    world.agent("alice", role="admin")
    response = client.request(method, path, json=body)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert response.headers["www-authenticate"] == "Bearer"
    for token in BAD_TOKENS:
        assert client.request(method, path, json=body, headers=bearer(token)).status_code == 401
    basic = {"Authorization": "Basic YWxpY2U6cHc="}
    assert client.request(method, path, json=body, headers=basic).status_code == 401


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_ENDPOINTS)
def test_admin_endpoints_refuse_plain_agents(
    client: TestClient, world: World, method: str, path: str, body: object
) -> None:
    token = world.token(world.agent("alice"))
    response = client.request(method, path, json=body, headers=bearer(token))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


def test_login_and_me(client: TestClient, world: World) -> None:
    world.agent("alice", name="王老师")
    wrong = client.post("/v1/agents/login", json={"username": "alice", "password": "wrong-password"})
    assert wrong.status_code == 401
    unknown = client.post("/v1/agents/login", json={"username": "nobody", "password": PASSWORD})
    assert unknown.status_code == 401
    assert unknown.json() == wrong.json()  # no hint whether the user exists

    login = client.post("/v1/agents/login", json={"username": "Alice", "password": PASSWORD})
    assert login.status_code == 200
    body = login.json()
    assert (body["username"], body["role"], body["display_name"]) == ("alice", "agent", "王老师")
    me = client.get("/v1/agents/me", headers=bearer(body["token"]))
    assert me.status_code == 200
    assert me.json()["username"] == "alice"
    assert "password_hash" not in me.json()


def test_disabled_accounts_lose_access_at_once(client: TestClient, world: World) -> None:
    token = world.token(world.agent("alice"))
    assert client.get("/v1/agents/me", headers=bearer(token)).status_code == 200
    world.service.agents.set_active("alice", False)
    assert client.get("/v1/agents/me", headers=bearer(token)).status_code == 401
    assert client.post("/v1/agents/login", json={"username": "alice", "password": PASSWORD}).status_code == 401


def test_login_attempts_are_limited(client: TestClient, world: World) -> None:
    world.agent("alice")
    statuses = [
        client.post("/v1/agents/login", json={"username": "alice", "password": "guess-" + str(i)}).status_code
        for i in range(11)
    ]
    assert statuses == [401] * 10 + [429]


def test_admins_create_agents(client: TestClient, world: World) -> None:
    admin = world.token(world.agent("root", role="admin"))
    body = {"username": "bob", "password": "bob-password-1", "role": "agent", "display_name": "李老师"}
    created = client.post("/v1/agents", json=body, headers=bearer(admin))
    assert created.status_code == 201
    assert created.json()["display_name"] == "李老师"
    assert client.post("/v1/agents", json=body, headers=bearer(admin)).status_code == 409
    short = {**body, "username": "carol", "password": "short"}
    assert client.post("/v1/agents", json=short, headers=bearer(admin)).status_code == 422
    login = client.post("/v1/agents/login", json={"username": "bob", "password": "bob-password-1"})
    assert login.status_code == 200
    names = [a["username"] for a in client.get("/v1/agents", headers=bearer(admin)).json()["agents"]]
    assert names == ["bob", "root"]


def test_websocket_requires_a_token(client: TestClient) -> None:
    with client.websocket_connect("/v1/agents/ws?token=bad") as ws:
        assert ws.receive_json()["type"] == "error"
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 4401


def test_websocket_streams_queue_events(client: TestClient, world: World) -> None:
    token = world.token(world.agent("alice"))
    waiting = world.escalate(world.conversation("early"))
    with client.websocket_connect(f"/v1/agents/ws?token={token}") as ws:
        hello = ws.receive_json()
        assert hello["type"] == "hello"
        assert [t["id"] for t in hello["queue"]] == [waiting.id]
        ticket = world.escalate(world.conversation("late", tier="vip"))
        seen = []
        while not seen or seen[-1]["type"] != "ticket.created":
            seen.append(ws.receive_json())
        assert seen[-1]["ticket"]["id"] == ticket.id
        assert seen[-1]["ticket"]["tier"] == "vip"
        assert any(e["type"] == "message" and e["ticket_id"] == ticket.id for e in seen)
