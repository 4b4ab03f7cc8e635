"""The handoff lifecycle through the service: escalate, claim, talk, note, transfer, resolve, rate."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from assistant.errors import Conflict, Forbidden, InvalidInput, NotFound
from assistant.live import AGENTS_TOPIC, conversation_topic
from tests.handoff.conftest import World


def _system_events(world: World, conversation_id: str) -> list[str]:
    return [m.data.get("event", "") for m in world.repo.messages(conversation_id) if m.role == "system"]


def test_escalation_queues_the_conversation_and_tells_the_user(world: World) -> None:
    world.escalate(world.conversation("ahead"))
    world.clock.advance(1)
    conv = world.conversation("u1")
    ticket = world.escalate(conv, reason="low_confidence")

    current = world.repo.require(conv.id)
    assert (current.mode, current.ticket_id) == ("queued", ticket.id)
    last = world.repo.messages(conv.id)[-1]
    assert last.role == "system"
    assert last.data == {
        "event": "handoff.created",
        "ticket_id": ticket.id,
        "reason": "low_confidence",
        "queue_position": 2,
        "eta_seconds": 240,
        "agents_available": True,
    }
    assert "已为您转接学习顾问，您前面还有 1 位" in last.text
    live = world.bus.on(conversation_topic(conv.id), "message")
    assert live[-1]["message"]["text"] == last.text
    created = world.bus.on(AGENTS_TOPIC, "ticket.created")
    assert created[-1]["ticket"]["id"] == ticket.id
    assert created[-1]["ticket"]["queue_position"] == 2
    assert "packet" not in created[-1]["ticket"]


def test_english_and_after_hours_texts(world: World) -> None:
    conv = world.conversation("en", locale="en")
    world.escalate(conv)
    assert "You are next in line" in world.repo.messages(conv.id)[-1].text

    night = world.conversation("night")
    ticket = world.escalate(night, available=False)
    assert ticket.kind == "message"
    text = world.repo.messages(night.id)[-1].text
    assert text == "现在是非工作时间（每天 09:00-22:00），您可以直接留言，顾问上班后会在这里回复您。"
    assert world.repo.require(night.id).mode == "queued"


def test_escalating_twice_returns_the_open_ticket(world: World) -> None:
    conv = world.conversation()
    first = world.escalate(conv)
    assert world.escalate(conv).id == first.id
    assert len(world.service.list_tickets("waiting")) == 1


def test_concurrent_escalations_make_one_ticket(world: World) -> None:
    conv = world.conversation()
    with ThreadPoolExecutor(8) as pool:
        ids = set(pool.map(lambda _: world.escalate(conv).id, range(16)))
    assert len(ids) == 1
    assert [t["id"] for t in world.service.list_tickets("waiting")] == list(ids)
    assert _system_events(world, conv.id).count("handoff.created") == 1


def test_claim_puts_an_advisor_in_charge(world: World) -> None:
    conv = world.conversation()
    ticket = world.escalate(conv)
    alice = world.agent("alice", name="王老师")
    claimed = world.service.claim(ticket.id, alice)
    assert (claimed.status, claimed.assigned_to, claimed.assigned_name) == ("assigned", "alice", "王老师")
    assert world.repo.require(conv.id).mode == "human"
    joined = world.repo.messages(conv.id)[-1]
    assert joined.data == {"event": "handoff.claimed", "ticket_id": ticket.id, "agent_name": "王老师"}
    assert "王老师" in joined.text
    assert world.bus.on(conversation_topic(conv.id), "message")[-1]["message"]["event"] == "handoff.claimed"
    with pytest.raises(Conflict):
        world.service.claim(ticket.id, world.agent("bob"))
    with pytest.raises(NotFound):
        world.service.claim("no-such-ticket", alice)


def test_late_bot_reply_loses_to_the_handoff(world: World) -> None:
    conv = world.conversation()
    # A bot reply computed before the handoff and appended after it must not reach the user.
    world.service.claim(world.escalate(conv).id, world.agent())
    assert world.repo.append(conv.id, "bot", "迟到的机器人回答", only_if_mode="bot") is None
    assert "迟到的机器人回答" not in [m.text for m in world.repo.messages(conv.id)]


def test_bot_replies_racing_the_handoff_never_land_after_it(world: World) -> None:
    agent = world.agent("racer")
    for round_ in range(20):
        conv = world.conversation(f"race{round_}", said=())
        start, stop = threading.Barrier(2), threading.Event()

        def bot(conversation_id: str, start: threading.Barrier, stop: threading.Event) -> None:
            start.wait()
            while not stop.is_set():
                if world.repo.append(conversation_id, "bot", "bot reply", only_if_mode="bot") is None:
                    return

        thread = threading.Thread(target=bot, args=(conv.id, start, stop))
        thread.start()
        start.wait()
        ticket = world.escalate(conv)
        world.service.claim(ticket.id, agent)
        stop.set()
        thread.join()
        log = world.repo.messages(conv.id)
        handoff_seq = next(m.seq for m in log if m.data.get("event") == "handoff.created")
        assert all(m.seq < handoff_seq for m in log if m.role == "bot")


def test_advisor_replies_reach_the_user_and_count_as_first_reply(world: World) -> None:
    conv = world.conversation()
    ticket = world.escalate(conv)
    alice, bob = world.agent("alice", name="王老师"), world.agent("bob")
    world.service.claim(ticket.id, alice)
    with pytest.raises(Forbidden):
        world.service.reply(ticket.id, bob, "不是我的工单")
    with pytest.raises(InvalidInput):
        world.service.reply(ticket.id, alice, "   ")
    world.clock.advance(30)
    message = world.service.reply(ticket.id, alice, "您好，已为您开通课程权限。")
    assert (message.role, message.data["agent_name"]) == ("agent", "王老师")
    live = world.bus.on(conversation_topic(conv.id), "message")[-1]["message"]
    assert live["role"] == "agent"
    assert live["text"] == "您好，已为您开通课程权限。"
    first = world.service.tickets.require(ticket.id).first_reply_at
    world.clock.advance(30)
    world.service.reply(ticket.id, alice, "还有其他问题吗？")
    assert world.service.tickets.require(ticket.id).first_reply_at == first


def test_user_messages_go_to_the_advisors(world: World) -> None:
    conv = world.conversation()
    ticket = world.escalate(conv)
    message = world.repo.append(conv.id, "user", "还在吗？")
    assert message is not None
    world.service.on_user_message(world.repo.require(conv.id), message)
    to_agents = world.bus.on(AGENTS_TOPIC, "message")[-1]
    assert (to_agents["ticket_id"], to_agents["message"]["text"]) == (ticket.id, "还在吗？")
    stored = world.service.tickets.require(ticket.id)
    assert stored.last_user_message_at == message.created_at
    assert stored.preview == "还在吗？"


def test_internal_notes_stay_internal(world: World) -> None:
    conv = world.conversation()
    ticket = world.escalate(conv)
    alice = world.agent()
    world.service.claim(ticket.id, alice)
    world.service.add_note(ticket.id, alice, "内部备注：该用户已退款过一次")
    assert world.service.detail(ticket.id)["notes"][0]["text"] == "内部备注：该用户已退款过一次"
    assert all("内部备注" not in m.text for m in world.repo.messages(conv.id))
    assert all("内部备注" not in str(e) for e in world.bus.on(conversation_topic(conv.id)))


def test_transfer_moves_the_ticket(world: World) -> None:
    conv = world.conversation()
    ticket = world.escalate(conv)
    alice, bob, carol = world.agent("alice"), world.agent("bob", name="李老师"), world.agent("carol")
    world.service.claim(ticket.id, alice)
    with pytest.raises(Forbidden):
        world.service.transfer(ticket.id, carol, "carol")
    with pytest.raises(NotFound):
        world.service.transfer(ticket.id, alice, "nobody")
    moved = world.service.transfer(ticket.id, alice, "bob")
    assert (moved.assigned_to, moved.assigned_name) == ("bob", "李老师")
    assert world.repo.messages(conv.id)[-1].data["event"] == "handoff.transferred"
    with pytest.raises(Forbidden):
        world.service.reply(ticket.id, alice, "我已经不负责了")
    world.service.reply(ticket.id, bob, "我是李老师，接着为您处理。")
    admin = world.agent("root", role="admin")
    assert world.service.transfer(ticket.id, admin, "alice").assigned_to == "alice"


def test_resolve_returns_the_conversation_to_the_bot(world: World) -> None:
    conv = world.conversation()
    ticket = world.escalate(conv)
    alice = world.agent()
    world.service.claim(ticket.id, alice)
    outcome = world.service.resolve(ticket.id, alice, note="已开通")
    assert outcome.ticket.status == "resolved"
    assert outcome.candidate is None
    current = world.repo.require(conv.id)
    assert current.mode == "bot"
    assert world.repo.messages(conv.id)[-1].data["event"] == "handoff.resolved"
    assert world.repo.append(conv.id, "bot", "机器人回来了", only_if_mode="bot") is not None
    with pytest.raises(Conflict):
        world.service.reply(ticket.id, alice, "太晚了")
    assert world.service.list_tickets("resolved")[0]["id"] == ticket.id
    assert world.escalate(current).id != ticket.id  # a new handoff later is a new ticket


def test_analytics_events_follow_the_ticket(world: World) -> None:
    conv = world.conversation("u9", tier="vip")
    ticket = world.escalate(conv)
    alice = world.agent()
    world.clock.advance(90)
    world.service.claim(ticket.id, alice)
    world.clock.advance(30)
    world.service.reply(ticket.id, alice, "您好")
    world.service.resolve(ticket.id, alice)
    events = list(world.store.iter_events(world.clock.now - 3600, world.clock.now + 1))
    assert [e.type for e in events] == ["handoff.created", "agent.claimed", "agent.first_reply", "ticket.resolved"]
    assert {e.user_id for e in events} == {"u9"}
    assert events[1].data["wait_seconds"] == 90
    assert events[2].data["seconds"] == 120
    assert events[0].data["tier"] == "vip"


def test_csat_lands_on_the_latest_resolved_ticket(world: World) -> None:
    conv = world.conversation()
    alice = world.agent()
    with pytest.raises(NotFound):
        world.service.record_csat(conv.id, 5)
    first = world.escalate(conv)
    world.service.claim(first.id, alice)
    world.service.resolve(first.id, alice)
    world.clock.advance(60)
    second = world.escalate(world.repo.require(conv.id))
    world.service.claim(second.id, alice)
    world.service.resolve(second.id, alice)
    with pytest.raises(InvalidInput):
        world.service.record_csat(conv.id, 6)
    assert world.service.record_csat(conv.id, 4).id == second.id
    assert world.service.tickets.require(second.id).csat == 4
    assert world.service.tickets.require(first.id).csat is None
    with pytest.raises(Conflict):
        world.service.record_csat(conv.id, 2)


def test_suggestions_come_from_the_knowledge_base_hook(world: World) -> None:
    conv = world.conversation(said=("课程打不开",))
    ticket = world.escalate(conv)
    assert world.service.suggestions(ticket.id) == []
    queries: list[str] = []

    def suggest(query: str) -> list[dict[str, object]]:
        queries.append(query)
        return [{"id": "faq-1", "question": "课程打不开怎么办？", "answer": "请更新 App。", "score": 0.8}]

    world.service.knowledge.suggest = suggest
    message = world.repo.append(conv.id, "user", "App 版本是 2.1")
    assert message is not None
    assert world.service.suggestions(ticket.id)[0]["answer"] == "请更新 App。"
    assert queries == ["App 版本是 2.1"]
