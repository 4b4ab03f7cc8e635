"""The analytics API over HTTP on the scripted-engine app: auth, shapes, figures from real traffic, gap publishing."""

from __future__ import annotations

from typing import Any

import pytest

from assistant.auth import AgentIdentity
from tests.analytics.conftest import Site


def test_analytics_needs_an_admin(site: Site) -> None:
    for path in ("/v1/analytics/summary", "/v1/analytics/gaps"):
        assert site.client.get(path).status_code == 401
        assert site.client.get(path, headers={"Authorization": "Bearer nonsense"}).status_code == 401
        forbidden = site.client.get(path, headers=site.agent)
        assert forbidden.status_code == 403
        assert forbidden.json()["error"]["code"] == "forbidden"
    body = {"ticket_id": "x", "question": "q", "answer": "a"}
    assert site.client.post("/v1/analytics/gaps/proposals", json=body, headers=site.agent).status_code == 403


@pytest.mark.parametrize(
    ("query", "status", "message"),
    [
        ("from=last-week", 400, "ISO date"),
        ("from=2026-02-10&to=2026-02-01", 400, "before"),
        ("from=2020-01-01&to=2026-01-01", 400, "longer"),
        ("from=9999-12-31&to=9999-12-31", 400, "range"),
        ("from=1960-01-01&to=1960-01-02", 400, "range"),
        ("tier=gold", 422, "tier"),
        ("channel=web%20app", 422, "channel"),
    ],
)
def test_bad_periods_and_filters_get_a_clear_error(site: Site, query: str, status: int, message: str) -> None:
    response = site.client.get(f"/v1/analytics/summary?{query}", headers=site.admin)
    assert response.status_code == status
    assert message in response.json()["error"]["message"]


def _traffic(site: Site) -> None:
    answered = site.start("u-answer", "member")
    site.say(answered, text="课程怎么退款")
    thanked = site.start("u-thanks")
    reply = site.say(thanked, text="课程怎么退款")
    site.client.post(
        f"/v1/conversations/{thanked['conversation_id']}/feedback",
        json={"message_id": reply["message_id"], "rating": "up"},
        headers={"Authorization": f"Bearer {thanked['token']}"},
    )
    handed = site.start("u-handoff", "vip")
    site.say(handed, text="你们有线下课吗")
    site.say(handed, quick_reply="handoff")


def test_summary_counts_the_traffic_it_saw(site: Site) -> None:
    _traffic(site)
    response = site.client.get("/v1/analytics/summary", headers=site.admin)
    assert response.status_code == 200, response.text
    body = response.json()
    totals = body["totals"]
    assert totals["conversations"] == 3
    assert totals["turns_by_action"] == {"answer": 2, "fallback": 1, "handoff": 1}
    assert totals["containment"]["confirmed"] == 1
    assert totals["containment"]["assumed"] == 1
    assert totals["handoffs"]["reasons"] == {"explicit_request": 1}
    assert totals["feedback"] == {"up": 1, "down": 0, "useful_rate": 1.0}
    assert body["by_tier"]["vip"]["sla"]["target_minutes"] == 5.0
    assert body["by_tier"]["vip"]["sla"]["pending"] == 1  # nobody has replied, the 5 minutes are not up
    assert len(body["daily"]) == 7
    assert sum(d["conversations"] for d in body["daily"]) == 3
    vip = site.client.get("/v1/analytics/summary", params={"tier": "vip"}, headers=site.admin).json()
    assert vip["totals"]["conversations"] == 1
    assert vip["tier"] == "vip"


def _resolve_with_answer(site: Site, conv: dict[str, Any], answer: str) -> str:
    ticket_id = site.handoff.conversations.require(conv["conversation_id"]).ticket_id
    assert ticket_id is not None
    agent = AgentIdentity("alice", "agent")
    site.handoff.claim(ticket_id, agent)
    site.handoff.reply(ticket_id, agent, answer)
    site.handoff.resolve(ticket_id, agent)
    return ticket_id


def test_a_gap_answered_by_an_advisor_is_published_in_one_step(site: Site) -> None:
    first = site.start("u-1")
    site.say(first, text="你们有线下课吗")
    site.say(first, quick_reply="handoff")
    ticket_id = _resolve_with_answer(site, first, "目前没有线下课，所有课程都在App内学习。")
    second = site.start("u-2")
    site.say(second, text="有没有线下课")
    site.say(second, text="转人工")  # asks for a person: not a question for the knowledge base

    report = site.client.get("/v1/analytics/gaps", headers=site.admin).json()
    assert report["texts"] == 2
    [gap] = [c for c in report["clusters"] if "线下课" in c["title"]]
    assert gap["size"] == 2
    assert {e["text"] for e in gap["examples"]} == {"你们有线下课吗", "有没有线下课"}
    proposal = gap["proposal"]
    assert proposal["ticket_id"] == ticket_id
    assert proposal["answer"] == "目前没有线下课，所有课程都在App内学习。"
    assert proposal["candidate_id"] is None

    body = {"ticket_id": ticket_id, "question": proposal["question"], "answer": proposal["answer"]}
    created = site.client.post("/v1/analytics/gaps/proposals", json=body, headers=site.admin)
    assert created.status_code == 201, created.text
    candidate = created.json()
    listed = site.client.get("/v1/kb/candidates", headers=site.admin).json()["candidates"]
    assert [c["id"] for c in listed] == [candidate["id"]]
    published = site.client.post(f"/v1/kb/candidates/{candidate['id']}/publish", headers=site.admin)
    assert published.status_code == 200
    assert [e.answer for e in site.publisher.published] == [proposal["answer"]]
    again = site.client.get("/v1/analytics/gaps", headers=site.admin).json()
    [gap] = [c for c in again["clusters"] if "线下课" in c["title"]]
    assert gap["proposal"]["candidate_status"] == "published"


def test_users_who_opted_out_of_training_never_become_faq_entries(site: Site) -> None:
    conv = site.start("u-private")
    site.say(conv, text="你们有线下课吗")
    site.say(conv, quick_reply="handoff")
    ticket_id = _resolve_with_answer(site, conv, "没有线下课。")
    user = site.handoff.conversations.get_user("u-private")
    assert user is not None
    user.training_opt_out = True
    site.handoff.conversations.save_user(user)

    # Their questions are not mined at all, so no cluster (and no proposal) comes from them.
    report = site.client.get("/v1/analytics/gaps", headers=site.admin).json()
    assert report["texts"] == 0
    assert report["clusters"] == []
    body = {"ticket_id": ticket_id, "question": "你们有线下课吗", "answer": "没有线下课。"}
    refused = site.client.post("/v1/analytics/gaps/proposals", json=body, headers=site.admin)
    assert refused.status_code == 403
    assert site.client.get("/v1/kb/candidates", headers=site.admin).json()["candidates"] == []


def test_erased_users_disappear_from_analytics(site: Site) -> None:
    conv = site.start("u-gone")
    site.say(conv, text="你们有线下课吗")
    assert site.client.get("/v1/analytics/gaps", headers=site.admin).json()["texts"] == 1
    site.runtime.store.delete_events(user_id="u-gone")
    assert site.client.get("/v1/analytics/gaps", headers=site.admin).json()["texts"] == 0
    assert site.client.get("/v1/analytics/summary", headers=site.admin).json()["totals"]["conversations"] == 0
