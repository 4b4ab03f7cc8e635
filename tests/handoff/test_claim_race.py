"""1,000 concurrent claim attempts (50 tickets × 20 advisors) from two workers: never a double claim."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from assistant.auth import AgentIdentity
from assistant.errors import Conflict
from storage.ports import Store
from tests.handoff.conftest import FakeClock, RecordingBus, World, make_service

TICKETS = 50
AGENTS = 20


def test_every_ticket_is_claimed_exactly_once(open_store: Callable[[], Store]) -> None:
    bus, clock = RecordingBus(), FakeClock()
    store = open_store()
    first = World(store, bus, clock, make_service(store, bus, clock))
    workers = [first.service, make_service(open_store(), bus, clock)]
    agents: list[AgentIdentity] = [first.agent(f"agent{i:02d}") for i in range(AGENTS)]
    tickets = [first.escalate(first.conversation(f"user{i}", said=("课程打不开",))).id for i in range(TICKETS)]

    outcomes: Counter[str] = Counter()
    winners: dict[str, list[str]] = {t: [] for t in tickets}
    lock = threading.Lock()

    def attempt(ticket_id: str, index: int, barrier: threading.Barrier) -> None:
        agent = agents[index]
        barrier.wait()
        try:
            workers[index % 2].claim(ticket_id, agent)
        except Conflict:
            with lock:
                outcomes["conflict"] += 1
            return
        with lock:
            outcomes["won"] += 1
            winners[ticket_id].append(agent.username)

    with ThreadPoolExecutor(AGENTS) as pool:
        for ticket_id in tickets:
            barrier = threading.Barrier(AGENTS)
            for future in [pool.submit(attempt, ticket_id, i, barrier) for i in range(AGENTS)]:
                future.result()

    assert outcomes == {"won": TICKETS, "conflict": TICKETS * (AGENTS - 1)}
    assert all(len(names) == 1 for names in winners.values())
    for ticket_id, [winner] in winners.items():
        ticket = first.service.tickets.require(ticket_id)
        assert (ticket.status, ticket.assigned_to) == ("assigned", winner)
        events = [m.data.get("event") for m in first.repo.messages(ticket.conversation_id)]
        assert events.count("handoff.claimed") == 1
        assert first.repo.require(ticket.conversation_id).mode == "human"
    assert first.service.list_tickets("waiting") == []
