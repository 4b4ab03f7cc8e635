"""The open-ticket index carries the queue's fields, so a handoff and the queue view read no other ticket whole;
stale or old entries are repaired; the resolved list reads only the tickets it shows. Both backends."""

from __future__ import annotations

import builtins
import random
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any, cast

import pytest

from handoff.models import OPEN_TICKET, STATS, TICKET
from handoff.queue import queue_order
from storage.ports import JSON, Store
from tests.handoff.conftest import T0, FakeClock, RecordingBus, World, make_service


class CountingStore:
    """A store that counts the documents it hands out per kind; everything else passes through."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.reads: Counter[str] = Counter()

    def get(self, kind: str, doc_id: str) -> JSON | None:
        self.reads[kind] += 1
        return self.inner.get(kind, doc_id)

    def list(
        self, kind: str, *, owner: str | None = None, where: Mapping[str, Any] | None = None
    ) -> builtins.list[JSON]:
        docs = self.inner.list(kind, owner=owner, where=where)
        self.reads[kind] += len(docs)
        return docs

    def top(self, kind: str, limit: int) -> builtins.list[JSON]:
        docs = self.inner.top(kind, limit)
        self.reads[kind] += len(docs)
        return docs

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@pytest.fixture
def counting(open_store: Callable[[], Store], clock: FakeClock) -> tuple[World, CountingStore]:
    """A world whose service works on a counting store (SQLite file or the real redis-server)."""
    counter = CountingStore(open_store())
    store = cast(Store, counter)
    bus = RecordingBus()
    return World(store, bus, clock, make_service(store, bus, clock)), counter


@pytest.fixture
def shared(counting: tuple[World, CountingStore]) -> World:
    return counting[0]


def _queue(world: World, limit: int = 100) -> list[tuple[str, int]]:
    return [(t["user_id"], t["queue_position"]) for t in world.service.list_tickets("waiting", limit=limit)]


def test_the_entry_carries_the_queue_fields_through_claim_and_resolution(shared: World) -> None:
    world = shared
    conv = world.conversation("u1", tier="vip")
    ticket = world.escalate(conv)
    entry = {
        "id": ticket.id,
        "conversation_id": conv.id,
        "tier": "vip",
        "kind": "live",
        "status": "waiting",
        "created_at": T0,
        "sla_deadline": T0 + 5 * 60,
        "claimed_at": None,
    }
    assert world.store.get(OPEN_TICKET, ticket.id) == entry

    alice = world.agent("alice")
    world.clock.advance(30)
    world.service.claim(ticket.id, alice)
    assert world.store.get(OPEN_TICKET, ticket.id) == {**entry, "status": "assigned", "claimed_at": T0 + 30}

    world.service.resolve(ticket.id, alice)
    assert world.store.get(OPEN_TICKET, ticket.id) is None
    assert [d["id"] for d in world.store.top(TICKET, 5)] == [ticket.id]


def test_a_handoff_and_the_queue_view_do_not_read_the_other_tickets(counting: tuple[World, CountingStore]) -> None:
    world, counter = counting
    reads = []
    for size in (2, 12):
        while len(world.service.list_tickets("waiting")) < size:
            world.escalate(world.conversation(f"u{world.clock.now}"))
            world.clock.advance(1)
        counter.reads.clear()
        world.escalate(world.conversation(f"new-{size}", tier="vip"))
        world.clock.advance(1)
        reads.append(counter.reads[TICKET])
    assert reads[0] == reads[1]  # the same with 2 or 12 tickets waiting

    counter.reads.clear()
    page = _queue(world, limit=3)
    assert [position for _, position in page] == [1, 2, 3]
    assert [user for user, _ in page] == ["new-2", "new-12", f"u{T0}"]
    assert counter.reads[TICKET] == 3  # only the tickets shown


def test_the_resolved_list_is_newest_first_and_reads_only_what_it_shows(
    counting: tuple[World, CountingStore],
) -> None:
    world, counter = counting
    alice = world.agent("alice")
    tickets = [world.escalate(world.conversation(f"u{i}")) for i in range(5)]
    for ticket in tickets:
        world.service.claim(ticket.id, alice)
    for ticket in tickets[:3]:
        world.clock.advance(10)
        world.service.resolve(ticket.id, alice)
    for ticket in tickets[3:]:  # resolved at the same time as the third: ties go by id, as before
        world.service.resolve(ticket.id, alice)
    world.service.list_tickets("resolved")  # the first listing on a store ranks what was resolved before ranking

    counter.reads.clear()
    listed = [t["id"] for t in world.service.list_tickets("resolved", limit=3)]
    tied = sorted(t.id for t in tickets[2:])
    assert listed == tied
    assert counter.reads[TICKET] == 3
    assert [t["id"] for t in world.service.list_tickets("resolved")] == [*tied, tickets[1].id, tickets[0].id]


def test_tickets_resolved_before_ranking_are_ranked_once(shared: World) -> None:
    world = shared
    tickets = [world.escalate(world.conversation(f"u{i}")) for i in range(3)]
    for i, ticket in enumerate(tickets):  # as an older version left them: resolved, never scored
        changes = {"status": "resolved", "resolved_at": T0 + [30, 10, 20][i]}
        world.store.put(TICKET, ticket.id, {**world.store.get(TICKET, ticket.id), **changes})  # type: ignore[dict-item]
        world.store.delete(OPEN_TICKET, ticket.id)
    assert world.store.top(TICKET, 5) == []

    listed = [t["id"] for t in world.service.list_tickets("resolved")]
    assert listed == [tickets[0].id, tickets[2].id, tickets[1].id]
    assert world.store.get(STATS, "resolved_ranked") is not None
    assert [d["id"] for d in world.store.top(TICKET, 5)] == listed


def test_an_entry_behind_its_ticket_is_repaired_when_shown(shared: World) -> None:
    world = shared
    tickets = {}
    for user in ("a", "b", "c"):
        tickets[user] = world.escalate(world.conversation(user))
        world.clock.advance(1)
    # A worker died between a claim's write to the ticket and the one to its index entry.
    claimed = {"status": "assigned", "assigned_to": "alice", "assigned_name": "alice", "claimed_at": T0 + 5}
    world.store.update_if(TICKET, tickets["b"].id, {}, claimed)

    assert _queue(world) == [("a", 1), ("c", 2)]
    assert world.store.get(OPEN_TICKET, tickets["b"].id) == {
        **world.store.get(OPEN_TICKET, tickets["a"].id),  # type: ignore[dict-item]
        "id": tickets["b"].id,
        "conversation_id": tickets["b"].conversation_id,
        "created_at": T0 + 1,
        "sla_deadline": T0 + 1 + 3600,
        "status": "assigned",
        "claimed_at": T0 + 5,
    }
    assert [t["user_id"] for t in world.service.list_tickets("assigned")] == ["b"]

    # ... and one between a resolution's write to the ticket and the entry's removal.
    world.store.update_if(TICKET, tickets["b"].id, {}, {"status": "resolved", "resolved_at": T0 + 9})
    assert world.service.list_tickets("assigned") == []
    assert world.store.get(OPEN_TICKET, tickets["b"].id) is None
    assert world.service.detail(tickets["c"].id)["queue_position"] == 2


def test_an_entry_without_its_ticket_is_dropped(shared: World) -> None:
    world = shared
    gone = world.escalate(world.conversation("a"))
    world.clock.advance(1)
    world.escalate(world.conversation("b"))
    world.store.delete(TICKET, gone.id)  # an erasure that stopped after the ticket

    assert _queue(world) == [("b", 1)]
    assert world.store.get(OPEN_TICKET, gone.id) is None


def test_entries_from_before_the_queue_fields_keep_working_and_are_completed(shared: World) -> None:
    world = shared
    old = [world.escalate(world.conversation("f", tier="free")), world.escalate(world.conversation("v", tier="vip"))]
    for ticket in old:
        world.store.put(OPEN_TICKET, ticket.id, {"id": ticket.id})  # as an older version wrote them

    world.clock.advance(1)
    new = world.escalate(world.conversation("m", tier="member"))
    assert new.queue_position == 2
    assert _queue(world) == [("v", 1), ("m", 2), ("f", 3)]
    assert world.store.get(OPEN_TICKET, old[0].id) == {
        **world.store.get(OPEN_TICKET, new.id),  # type: ignore[dict-item]
        "id": old[0].id,
        "conversation_id": old[0].conversation_id,
        "tier": "free",
        "created_at": T0,
        "sla_deadline": T0 + 3600,
    }
    assert world.store.owners_of(OPEN_TICKET, old[0].id) == "f"  # still erased with its user


def test_views_match_ordering_the_tickets_themselves(shared: World) -> None:
    world = shared
    rng = random.Random(7)
    alice = world.agent("alice")
    tickets = []
    for i in range(40):
        tickets.append(world.escalate(world.conversation(f"u{i}", tier=rng.choice(["vip", "member", "free"]))))
        world.clock.advance(rng.choice([0, 0, 1, 5]))  # equal times too: ties go by id
        if rng.random() < 0.4:
            waiting = [t for t in tickets if world.service.tickets.require(t.id).status == "waiting"]
            if waiting:
                world.service.claim(rng.choice(waiting).id, alice)
        if rng.random() < 0.3:
            assigned = [t for t in tickets if world.service.tickets.require(t.id).status == "assigned"]
            if assigned:
                world.service.resolve(rng.choice(assigned).id, alice)
    full = world.service.tickets.open_tickets()
    resolved = [world.service.tickets.require(t.id) for t in tickets]
    resolved = sorted((t for t in resolved if t.status == "resolved"), key=lambda t: t.id)

    assert [(t["id"], t["queue_position"]) for t in world.service.list_tickets("waiting")] == [
        (t.id, i) for i, t in enumerate(queue_order(full), start=1)
    ]
    mine = sorted(
        (t for t in sorted(full, key=lambda t: t.id) if t.status == "assigned"), key=lambda t: t.claimed_at or 0.0
    )
    assert [t["id"] for t in world.service.list_tickets("assigned")] == [t.id for t in mine]
    newest = sorted(resolved, key=lambda t: t.resolved_at or 0.0, reverse=True)
    assert [t["id"] for t in world.service.list_tickets("resolved")] == [t.id for t in newest]


def test_old_entries_keep_their_place_among_equal_claim_times(shared: World) -> None:
    world = shared
    alice = world.agent("alice")
    tickets = [world.escalate(world.conversation(f"u{i}")) for i in range(6)]
    for ticket in tickets:
        world.service.claim(ticket.id, alice)  # all at the same time: the list goes by id then
    for ticket in sorted(tickets, key=lambda t: t.id)[:3]:
        world.store.put(OPEN_TICKET, ticket.id, {"id": ticket.id})

    assert [t["id"] for t in world.service.list_tickets("assigned")] == sorted(t.id for t in tickets)
