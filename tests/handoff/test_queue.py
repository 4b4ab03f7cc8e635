"""Queue order, first-reply SLAs with breach flags, wait estimates and live queue updates."""

from __future__ import annotations

from pathlib import Path

from assistant.live import conversation_topic
from handoff.queue import estimate_wait, wait_per_position
from handoff.wiring import build_handoff_service
from storage.sqlite import SqliteStore
from tests.handoff.conftest import T0, RecordingBus, World, isolated_settings


def test_queue_is_ordered_by_tier_then_waiting_time(world: World) -> None:
    order = [("f1", "free"), ("m1", "member"), ("v1", "vip"), ("f2", "free"), ("v2", "vip")]
    for user_id, tier in order:
        world.escalate(world.conversation(user_id, tier=tier))
        world.clock.advance(10)
    queue = world.service.list_tickets("waiting")
    assert [t["user_id"] for t in queue] == ["v1", "v2", "m1", "f1", "f2"]
    assert [t["queue_position"] for t in queue] == [1, 2, 3, 4, 5]
    assert [t["tier"] for t in queue] == ["vip", "vip", "member", "free", "free"]


def test_sla_per_tier_counts_down_and_flags_breaches(world: World) -> None:
    for user_id, tier in (("v", "vip"), ("m", "member"), ("f", "free")):
        world.escalate(world.conversation(user_id, tier=tier))
    by_user = {t["user_id"]: t for t in world.service.list_tickets("waiting")}
    assert by_user["v"]["sla_deadline"] == T0 + 5 * 60
    assert by_user["m"]["sla_deadline"] == T0 + 15 * 60
    assert by_user["f"]["sla_deadline"] == T0 + 60 * 60
    assert not any(t["breached"] for t in by_user.values())

    world.clock.advance(4 * 60)
    by_user = {t["user_id"]: t for t in world.service.list_tickets("waiting")}
    assert by_user["v"]["sla_remaining_seconds"] == 60
    assert not by_user["v"]["breached"]

    world.clock.advance(2 * 60)
    by_user = {t["user_id"]: t for t in world.service.list_tickets("waiting")}
    assert by_user["v"]["breached"]
    assert by_user["v"]["sla_remaining_seconds"] == -60
    assert not by_user["m"]["breached"]
    assert not by_user["f"]["breached"]

    world.clock.advance(20 * 60)
    assert {t["user_id"] for t in world.service.list_tickets("waiting") if t["breached"]} == {"v", "m"}


def test_a_first_reply_stops_the_sla_clock(world: World) -> None:
    ticket = world.escalate(world.conversation("v", tier="vip"))
    agent = world.agent()
    world.clock.advance(60)
    world.service.claim(ticket.id, agent)
    world.clock.advance(60)
    world.service.reply(ticket.id, agent, "您好，我来帮您看看。")
    world.clock.advance(3600)
    [view] = world.service.list_tickets("assigned")
    assert view["sla_remaining_seconds"] == 180
    assert not view["breached"]


def test_sla_minutes_come_from_settings(tmp_path: Path) -> None:
    settings = isolated_settings(tmp_path, sla_vip_minutes=2, sla_member_minutes=7, sla_free_minutes=30)

    class _Runtime:
        def __init__(self) -> None:
            self.settings, self.store, self.bus, self.components = settings, SqliteStore(":memory:"), RecordingBus(), {}

    service = build_handoff_service(_Runtime())
    assert service.sla_minutes == {"vip": 2, "member": 7, "free": 30}
    assert service.hours.timezone == "Asia/Shanghai"


def test_messages_left_after_hours_are_due_after_opening(world: World) -> None:
    night = T0 + 11 * 3600  # 23:00 in Shanghai
    world.clock.now = night
    ticket = world.escalate(world.conversation("v", tier="vip"), available=False)
    opening = T0 + 21 * 3600  # 09:00 the next morning
    assert ticket.kind == "message"
    assert ticket.sla_deadline == opening + 5 * 60
    assert ticket.eta_seconds >= opening - night


def test_wait_estimates_use_recent_claims() -> None:
    assert wait_per_position([], default=90) == 90
    assert wait_per_position([40, 60], default=90) == 90  # too few samples
    assert wait_per_position([40, 60, 200]) == 60
    assert wait_per_position([1, 2, 3]) == 30  # clamped
    assert estimate_wait(3, 60) == 180
    assert estimate_wait(0, 60) == 60


def test_eta_follows_recent_claim_waits(world: World) -> None:
    agent = world.agent()
    for i in range(3):
        ticket = world.escalate(world.conversation(f"early{i}"))
        world.clock.advance(300)
        world.service.claim(ticket.id, agent)
    first = world.escalate(world.conversation("a"))
    world.clock.advance(1)
    second = world.escalate(world.conversation("b"))
    assert (first.queue_position, first.eta_seconds) == (1, 300)
    assert (second.queue_position, second.eta_seconds) == (2, 600)


def test_waiting_users_get_live_queue_updates(world: World) -> None:
    first = world.escalate(world.conversation("a"))
    world.clock.advance(1)
    second_conv = world.conversation("b")
    second = world.escalate(second_conv)
    updates = world.bus.on(conversation_topic(second_conv.id), "queue")
    assert updates[-1]["position"] == 2

    world.service.claim(first.id, world.agent())
    updates = world.bus.on(conversation_topic(second_conv.id), "queue")
    assert updates[-1]["position"] == 1
    assert updates[-1]["eta_seconds"] > 0
    assert second.queue_position == 2
