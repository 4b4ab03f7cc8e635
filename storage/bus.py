"""Live event fan-out: InMemoryEventBus (one process) and RedisEventBus (pub/sub across workers)."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

from storage.ports import JSON

if TYPE_CHECKING:
    import redis

logger = logging.getLogger(__name__)

# A subscriber that stops reading (a stalled WebSocket) must not grow memory without bound; it loses the
# oldest live events instead, which a UI recovers from by re-reading the message log.
QUEUE_SIZE = 1000
_CHANNEL_PREFIX = "bus:"


def encode_event(event: Mapping[str, Any]) -> str:
    """An event as compact JSON text; rejects what JSON cannot carry (NaN, arbitrary objects)."""
    return json.dumps(dict(event), ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def decode_event(text: str) -> JSON:
    """An event back from its JSON text (a fresh copy per call)."""
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError("bus event is not a JSON object")
    return value


class Inbox(asyncio.Queue[JSON]):
    """A subscriber's bounded queue that drops its oldest event rather than refuse a new one."""

    def __init__(self) -> None:
        super().__init__(maxsize=QUEUE_SIZE)
        self.stalled = False

    def offer(self, event: JSON) -> None:
        """Queue an event, dropping the oldest if the subscriber is not keeping up (loop thread only)."""
        if self.full():
            self.get_nowait()
            if not self.stalled:  # warn once per stall, not once per dropped event
                logger.warning("event bus subscriber is not reading; dropping its oldest events")
            self.stalled = True
        else:
            self.stalled = False
        self.put_nowait(event)


class InMemoryEventBus:
    """Fan-out to subscribers of this process; `publish` may be called from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: dict[str, set[tuple[asyncio.AbstractEventLoop, Inbox]]] = {}

    def publish(self, topic: str, event: Mapping[str, Any]) -> None:
        """Send an event to every current subscriber of a topic."""
        # Encoding rejects non-JSON values as the Redis bus does; decoding per subscriber gives each a copy.
        text = encode_event(event)
        with self._lock:
            targets = list(self._subscribers.get(topic, ()))
        for loop, inbox in targets:
            try:
                loop.call_soon_threadsafe(inbox.offer, decode_event(text))
            except RuntimeError:  # the subscriber's loop is closed; its finally block never ran
                self._remove(topic, (loop, inbox))

    async def subscribe(self, topic: str) -> AsyncIterator[JSON]:
        """Yield events published to the topic after the first iteration starts."""
        entry = (asyncio.get_running_loop(), Inbox())
        with self._lock:
            self._subscribers.setdefault(topic, set()).add(entry)
        try:
            while True:
                yield await entry[1].get()
        finally:
            self._remove(topic, entry)

    def subscriber_count(self, topic: str) -> int:
        """How many subscriptions to the topic are live in this process."""
        with self._lock:
            return len(self._subscribers.get(topic, ()))

    def close(self) -> None:
        """Nothing to release; present so both buses close the same way."""

    def _remove(self, topic: str, entry: tuple[asyncio.AbstractEventLoop, Inbox]) -> None:
        with self._lock:
            entries = self._subscribers.get(topic)
            if entries is not None:
                entries.discard(entry)
                if not entries:
                    del self._subscribers[topic]


class RedisEventBus:
    """Fan-out through Redis pub/sub, so a subscriber on one worker sees events published by any worker."""

    def __init__(self, url: str) -> None:
        import redis  # imported here so the in-process bus never loads the Redis client

        self.url = url
        # A sync client so request handlers running in worker threads can publish without an event loop.
        self._publisher: redis.Redis = redis.Redis.from_url(url, decode_responses=True)

    def publish(self, topic: str, event: Mapping[str, Any]) -> None:
        """Send an event to every current subscriber of a topic, on every worker."""
        self._publisher.publish(_CHANNEL_PREFIX + topic, encode_event(event))

    async def subscribe(self, topic: str) -> AsyncIterator[JSON]:
        """Yield events published to the topic once Redis has registered the subscription."""
        import redis.asyncio

        # One connection per subscription: the client is bound to the running loop and closed with it.
        client = redis.asyncio.Redis.from_url(self.url, decode_responses=True)
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(_CHANNEL_PREFIX + topic)
            async for message in pubsub.listen():
                if message.get("type") == "message":
                    yield decode_event(str(message["data"]))
        finally:
            await pubsub.aclose()
            await client.aclose()

    def subscriber_count(self, topic: str) -> int:
        """How many subscriptions to the topic Redis holds, across all workers."""
        counts = self._publisher.pubsub_numsub(_CHANNEL_PREFIX + topic)
        return int(counts[0][1]) if counts else 0  # type: ignore[index]

    def close(self) -> None:
        """Release the publishing connection pool."""
        self._publisher.close()
