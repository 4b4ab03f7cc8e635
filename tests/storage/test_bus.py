"""Every event bus delivers live events to current subscribers; the Redis and SQLite relay ones across workers."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest

from storage.bus import InMemoryEventBus, RedisEventBus
from storage.ports import JSON
from storage.sqlite import SqliteStore
from storage.sqlite_bus import RELAYED_SECONDS, SqliteEventBus, bus_path

Bus = InMemoryEventBus | RedisEventBus | SqliteEventBus
TIMEOUT = 5.0


@pytest.fixture(params=["memory", "sqlite", pytest.param("redis", marks=pytest.mark.integration)])
def make_bus(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Bus]]:
    """Builds buses on one backend; two buses on Redis or on one SQLite file stand for two app workers."""
    buses: list[Bus] = []
    shared_memory_bus = InMemoryEventBus()
    url: str = request.getfixturevalue("redis_url") if request.param == "redis" else ""

    def make() -> Bus:
        bus: Bus
        if url:
            bus = RedisEventBus(url)
        elif request.param == "sqlite":
            bus = SqliteEventBus(tmp_path / "store.db.bus", poll_seconds=0.01)
        else:
            # In-process fan-out only spans one process, so "another worker" is the same bus there.
            bus = shared_memory_bus
        buses.append(bus)
        return bus

    yield make
    for bus in buses:
        bus.close()


def run(coro: Coroutine[Any, Any, None]) -> None:
    asyncio.run(asyncio.wait_for(coro, TIMEOUT))


async def _wait_for_subscribers(bus: Bus, topic: str, count: int) -> None:
    while bus.subscriber_count(topic) < count:
        await asyncio.sleep(0.01)


async def _collect(events: AsyncIterator[JSON], count: int) -> list[JSON]:
    received: list[JSON] = []
    async with contextlib.aclosing(events) as stream:  # type: ignore[type-var]
        async for event in stream:
            received.append(event)
            if len(received) == count:
                break
    return received


def test_subscriber_receives_events_published_after_it_subscribed(make_bus: Callable[[], Bus]) -> None:
    bus = make_bus()

    async def scenario() -> None:
        bus.publish("conv:c1", {"seq": 0, "text": "before anyone listens"})
        task = asyncio.create_task(_collect(bus.subscribe("conv:c1"), 2))
        await _wait_for_subscribers(bus, "conv:c1", 1)
        bus.publish("conv:other", {"seq": 99})
        bus.publish("conv:c1", {"seq": 1, "text": "您好"})
        bus.publish("conv:c1", {"seq": 2, "nested": {"quick_replies": ["退款"]}})

        assert await task == [{"seq": 1, "text": "您好"}, {"seq": 2, "nested": {"quick_replies": ["退款"]}}]

    run(scenario())


def test_events_published_from_another_thread_arrive(make_bus: Callable[[], Bus]) -> None:
    bus = make_bus()

    async def scenario() -> None:
        task = asyncio.create_task(_collect(bus.subscribe("agents"), 3))
        await _wait_for_subscribers(bus, "agents", 1)
        publisher = threading.Thread(target=lambda: [bus.publish("agents", {"n": n}) for n in range(3)])
        publisher.start()

        assert await task == [{"n": 0}, {"n": 1}, {"n": 2}]
        publisher.join()

    run(scenario())


def test_two_subscribers_on_two_workers_both_receive(make_bus: Callable[[], Bus]) -> None:
    worker_a, worker_b = make_bus(), make_bus()

    async def scenario() -> None:
        first = asyncio.create_task(_collect(worker_a.subscribe("queue"), 1))
        second = asyncio.create_task(_collect(worker_b.subscribe("queue"), 1))
        await _wait_for_subscribers(worker_a, "queue", 2)
        worker_b.publish("queue", {"ticket": "t1"})

        assert await first == [{"ticket": "t1"}]
        assert await second == [{"ticket": "t1"}]

    run(scenario())


def test_closing_a_subscription_unregisters_it(make_bus: Callable[[], Bus]) -> None:
    bus = make_bus()

    async def scenario() -> None:
        await _wait_for_subscribers(bus, "t", 0)
        task = asyncio.create_task(_collect(bus.subscribe("t"), 1))
        await _wait_for_subscribers(bus, "t", 1)
        bus.publish("t", {"x": 1})
        await task
        while bus.subscriber_count("t"):
            await asyncio.sleep(0.01)

        bus.publish("t", {"x": 2})  # nobody listens: dropped without error

    run(scenario())


def test_cancelled_subscriber_is_unregistered(make_bus: Callable[[], Bus]) -> None:
    bus = make_bus()

    async def scenario() -> None:
        task = asyncio.create_task(_collect(bus.subscribe("t"), 1))
        await _wait_for_subscribers(bus, "t", 1)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        while bus.subscriber_count("t"):
            await asyncio.sleep(0.01)

    run(scenario())


def test_publishing_a_non_json_event_fails_loudly(make_bus: Callable[[], Bus]) -> None:
    bus = make_bus()

    with pytest.raises(TypeError):
        bus.publish("t", {"when": object()})
    with pytest.raises(ValueError):
        bus.publish("t", {"score": float("nan")})


def test_slow_in_memory_subscriber_keeps_only_the_newest_events() -> None:
    bus = InMemoryEventBus()

    async def scenario() -> None:
        stream = bus.subscribe("t")
        first: asyncio.Future[JSON] = asyncio.ensure_future(anext(stream))  # registers, then waits
        await _wait_for_subscribers(bus, "t", 1)
        for n in range(1500):
            bus.publish("t", {"n": n})
        await asyncio.sleep(0.05)  # let the loop run the thread-safe deliveries
        received = [await first] + await _collect(stream, 999)

        assert [e["n"] for e in received] == list(range(500, 1500))

    run(scenario())


def test_the_sqlite_relay_hands_on_only_what_was_published_after_subscribing(tmp_path: Path) -> None:
    publisher, listener = (SqliteEventBus(tmp_path / "s.db.bus", poll_seconds=0.01) for _ in range(2))
    try:

        async def scenario() -> None:
            publisher.publish("conv:c1", {"seq": 1, "text": "before anyone listens"})
            task = asyncio.create_task(_collect(listener.subscribe("conv:c1"), 2))
            await _wait_for_subscribers(publisher, "conv:c1", 1)
            for seq in (2, 3):
                publisher.publish("conv:c1", {"seq": seq, "text": "您好"})

            assert [e["seq"] for e in await task] == [2, 3]  # in order, nothing from before, nothing twice

        run(scenario())
    finally:
        publisher.close()
        listener.close()


def _on_disk(path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in path.parent.glob(f"{path.name}*"))


def test_scrubbing_the_store_erases_relayed_texts_and_the_relay_keeps_working(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SqliteStore(tmp_path / "s.db")
    publisher, listener = (SqliteEventBus(bus_path(store.path), poll_seconds=0.01) for _ in range(2))
    try:
        publisher.publish("conv:c1", {"seq": 1, "text": "我的手机号是13800138000"})
        assert b"13800138000" in _on_disk(bus_path(store.path))
        later = time.time() + 2 * RELAYED_SECONDS  # every relay has read the event by then
        monkeypatch.setattr("storage.sqlite_bus.time.time", lambda: later)
        store.scrub()
        monkeypatch.undo()
        assert b"13800138000" not in _on_disk(bus_path(store.path))

        async def scenario() -> None:
            task = asyncio.create_task(_collect(listener.subscribe("conv:c1"), 1))
            await _wait_for_subscribers(publisher, "conv:c1", 1)
            publisher.publish("conv:c1", {"seq": 2, "text": "after the scrub"})
            assert [e["seq"] for e in await task] == [2]

        run(scenario())
    finally:
        publisher.close()
        listener.close()
        store.close()


def test_scrubbing_a_store_without_workers_creates_no_relay_file(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.db")
    store.scrub()
    store.close()
    assert not bus_path(tmp_path / "s.db").exists()
