"""A ticket's life over HTTP, and the knowledge loop from resolved ticket to published FAQ entry."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from handoff.agents import AgentDirectory
from handoff.wiring import build_handoff_service
from knowledge_base.models import FaqEntry
from tests.handoff.conftest import World, bearer, build_app, fast_hasher, isolated_settings


class FakeKb:
    """Stands in for the knowledge base's publish hook."""

    def __init__(self) -> None:
        self.published: list[FaqEntry] = []

    def __call__(self, entries: list[FaqEntry]) -> str:
        self.published.extend(entries)
        return f"v{len(self.published)}"


@pytest.fixture
def kb() -> FakeKb:
    return FakeKb()


@pytest.fixture
def wired(world: World, tmp_path: Path, kb: FakeKb) -> Iterator[TestClient]:
    """The app with the service built by `build_handoff_service` from the runtime's components."""
    app = build_app(world, isolated_settings(tmp_path), {"kb_publish": kb, "suggest": _suggest})
    runtime = app.state.runtime
    service = build_handoff_service(runtime)
    service.agents = AgentDirectory(world.store, fast_hasher())
    service.clock = world.clock
    runtime.components["handoff"] = world.service = service
    with TestClient(app) as client:
        yield client


def _suggest(query: str) -> list[dict[str, Any]]:
    return [{"id": "faq-9", "question": "如何退款？", "answer": f"关于「{query}」：7 天内可退。", "score": 0.66}]


def _resolve_flow(client: TestClient, world: World, *, opt_out: bool = False) -> dict[str, Any]:
    conv = world.conversation("u-opt" if opt_out else "u1", said=("买错课了，能退吗？",), opt_out=opt_out)
    ticket = world.escalate(conv)
    token = world.token(world.agent("alice", name="王老师"))
    assert client.post(f"/v1/handoff/tickets/{ticket.id}/claim", headers=bearer(token)).status_code == 200
    reply = {"text": "购买 7 天内未学习可以全额退款，我已为您提交。"}
    assert (
        client.post(f"/v1/handoff/tickets/{ticket.id}/messages", json=reply, headers=bearer(token)).status_code == 201
    )
    body = {"note": "已退款", "add_to_kb": True}
    response = client.post(f"/v1/handoff/tickets/{ticket.id}/resolve", json=body, headers=bearer(token))
    assert response.status_code == 200
    return dict(response.json())


def test_ticket_life_over_http(client: TestClient, world: World) -> None:
    conv = world.conversation("u1", tier="member", said=("课程打不开", "订单 123456"))
    ticket = world.escalate(conv)
    alice = world.token(world.agent("alice", name="王老师"))
    world.agent("bob")
    admin = world.token(world.agent("root", role="admin"))

    queue = client.get("/v1/handoff/tickets?status=waiting", headers=bearer(alice)).json()["tickets"]
    assert [(t["id"], t["tier"], t["queue_position"]) for t in queue] == [(ticket.id, "member", 1)]
    assert {"sla_deadline", "sla_remaining_seconds", "breached"} <= set(queue[0])

    detail = client.get(f"/v1/handoff/tickets/{ticket.id}", headers=bearer(alice)).json()
    assert detail["packet"]["summary"] == ticket.summary
    assert [m["text"] for m in detail["transcript"] if m["role"] == "user"] == ["课程打不开", "订单 123456"]

    claimed = client.post(f"/v1/handoff/tickets/{ticket.id}/claim", headers=bearer(alice))
    assert claimed.status_code == 200
    assert claimed.json()["assigned_to"] == "alice"
    again = client.post(f"/v1/handoff/tickets/{ticket.id}/claim", headers=bearer(admin))
    assert again.status_code == 409

    sent = client.post(f"/v1/handoff/tickets/{ticket.id}/messages", json={"text": "您好"}, headers=bearer(alice))
    assert sent.status_code == 201
    assert sent.json()["role"] == "agent"
    assert sent.json()["agent_name"] == "王老师"
    other = client.post(f"/v1/handoff/tickets/{ticket.id}/messages", json={"text": "hi"}, headers=bearer(admin))
    assert other.status_code == 403
    note = client.post(f"/v1/handoff/tickets/{ticket.id}/notes", json={"text": "老用户"}, headers=bearer(admin))
    assert note.status_code == 201
    assert client.post(f"/v1/handoff/tickets/{ticket.id}/typing", headers=bearer(alice)).status_code == 204

    moved = client.post(f"/v1/handoff/tickets/{ticket.id}/transfer", json={"to": "bob"}, headers=bearer(alice))
    assert moved.status_code == 200
    assert moved.json()["assigned_to"] == "bob"
    assigned = client.get("/v1/handoff/tickets?status=assigned", headers=bearer(alice)).json()["tickets"]
    assert [t["assigned_to"] for t in assigned] == ["bob"]

    done = client.post(f"/v1/handoff/tickets/{ticket.id}/resolve", json={"note": "ok"}, headers=bearer(admin))
    assert done.status_code == 200
    assert done.json()["ticket"]["status"] == "resolved"
    assert world.repo.require(conv.id).mode == "bot"
    resolved = client.get("/v1/handoff/tickets?status=resolved", headers=bearer(alice)).json()["tickets"]
    assert [t["id"] for t in resolved] == [ticket.id]
    assert client.get("/v1/handoff/tickets?status=bogus", headers=bearer(alice)).status_code == 422
    assert client.get("/v1/handoff/tickets/nope", headers=bearer(alice)).status_code == 404


def test_two_concurrent_http_claims_one_wins(client: TestClient, world: World) -> None:
    ticket = world.escalate(world.conversation())
    tokens = [world.token(world.agent(name)) for name in ("alice", "bob")]
    with ThreadPoolExecutor(2) as pool:
        statuses = sorted(
            pool.map(
                lambda t: client.post(f"/v1/handoff/tickets/{ticket.id}/claim", headers=bearer(t)).status_code, tokens
            )
        )
    assert statuses == [200, 409]


def test_suggestions_over_http(wired: TestClient, world: World) -> None:
    ticket = world.escalate(world.conversation(said=("买错了想退",)))
    token = world.token(world.agent())
    found = wired.get(f"/v1/handoff/tickets/{ticket.id}/suggestions", headers=bearer(token)).json()["suggestions"]
    assert found == [
        {"id": "faq-9", "question": "如何退款？", "answer": "关于「买错了想退」：7 天内可退。", "score": 0.66}
    ]


def test_resolved_answers_become_published_faq_entries(wired: TestClient, world: World, kb: FakeKb) -> None:
    outcome = _resolve_flow(wired, world)
    candidate = outcome["candidate"]
    assert candidate["question"] == "买错课了，能退吗？"
    assert candidate["answer"] == "购买 7 天内未学习可以全额退款，我已为您提交。"
    assert world.store.owners_of("kb_candidate", candidate["id"]) == "u1"

    admin = bearer(world.token(world.agent("root", role="admin")))
    listed = wired.get("/v1/kb/candidates", headers=admin).json()["candidates"]
    assert [c["id"] for c in listed] == [candidate["id"]]
    edit = {"question": "买错课程可以退款吗？", "category": "退款"}
    edited = wired.put(f"/v1/kb/candidates/{candidate['id']}", json=edit, headers=admin)
    assert edited.status_code == 200
    assert edited.json()["question"] == "买错课程可以退款吗？"

    published = wired.post(f"/v1/kb/candidates/{candidate['id']}/publish", headers=admin)
    assert published.status_code == 200
    assert published.json()["status"] == "published"
    assert published.json()["published_version"] == "v1"
    [entry] = kb.published
    assert (entry.question, entry.answer, entry.category) == ("买错课程可以退款吗？", candidate["answer"], "退款")
    assert wired.post(f"/v1/kb/candidates/{candidate['id']}/publish", headers=admin).status_code == 409
    assert wired.get("/v1/kb/candidates", headers=admin).json()["candidates"] == []
    assert len(wired.get("/v1/kb/candidates?status=all", headers=admin).json()["candidates"]) == 1


def test_opted_out_users_produce_no_candidate(wired: TestClient, world: World) -> None:
    outcome = _resolve_flow(wired, world, opt_out=True)
    assert outcome["candidate"] is None
    assert world.store.list("kb_candidate") == []


def test_publishing_without_a_knowledge_base_is_unavailable(client: TestClient, world: World) -> None:
    candidate = _resolve_flow(client, world)["candidate"]
    admin = bearer(world.token(world.agent("root", role="admin")))
    response = client.post(f"/v1/kb/candidates/{candidate['id']}/publish", headers=admin)
    assert response.status_code == 503
    assert client.get("/v1/kb/candidates", headers=admin).json()["candidates"][0]["status"] == "pending"
    assert client.delete(f"/v1/kb/candidates/{candidate['id']}", headers=admin).status_code == 204
    assert client.delete(f"/v1/kb/candidates/{candidate['id']}", headers=admin).status_code == 404


def test_a_failing_publish_hook_keeps_the_candidate(wired: TestClient, world: World) -> None:
    candidate = _resolve_flow(wired, world)["candidate"]

    def broken(entries: list[FaqEntry]) -> str:
        raise RuntimeError("index build failed")

    wired.app.state.runtime.components["kb_publish"] = broken  # type: ignore[attr-defined]
    admin = bearer(world.token(world.agent("root", role="admin")))
    assert wired.post(f"/v1/kb/candidates/{candidate['id']}/publish", headers=admin).status_code == 503
    assert wired.get("/v1/kb/candidates", headers=admin).json()["candidates"][0]["status"] == "pending"
