"""SqliteEventBus: live fan-out across the worker processes of one machine that share an SQLite store.

Each publish reaches this process's subscribers at once and is appended to a small table in a side file next to
the store; every process with subscribers polls that table (`poll_seconds`) and hands on what other processes
published. Rows are transient: deleted after `keep_seconds` (zeroed on disk by `secure_delete`), never read by
anything but the relay. With one worker the in-process bus is used instead and nothing is written.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

from storage.bus import Inbox, decode_event, encode_event
from storage.ports import JSON

_PRUNE_EVERY = 256  # publishes between deletions of expired rows (and at least once per `keep_seconds`)
RELAYED_SECONDS = 1.0  # every live relay (polling every 20 ms) has read a row this old
_SCHEMA = """
CREATE TABLE IF NOT EXISTS bus_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    origin TEXT NOT NULL,
    topic TEXT NOT NULL,
    payload TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS bus_events_at ON bus_events (at);
CREATE TABLE IF NOT EXISTS bus_subscribers (
    origin TEXT NOT NULL,
    topic TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (origin, topic)
);
"""


class _Subscription:
    """One subscriber: its loop, its inbox, and the last row published before it subscribed."""

    __slots__ = ("after", "inbox", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop, after: int) -> None:
        self.loop = loop
        self.inbox = Inbox()
        self.after = after


def bus_path(store_path: str | Path) -> Path:
    """The side file of the relay for an SQLite store file."""
    return Path(f"{store_path}.bus")


def scrub_bus(path: str | Path) -> None:
    """Erase relayed events (they carry message texts) from the side file, zeroed, and truncate its WAL.

    Events of the last `RELAYED_SECONDS` stay for relays still on their way; a missing file is left missing.
    """
    if not Path(path).exists():
        return
    db = sqlite3.connect(str(path), isolation_level=None, timeout=10.0)
    try:
        db.execute("PRAGMA secure_delete=ON")
        db.executescript(_SCHEMA)
        db.execute("DELETE FROM bus_events WHERE at < ?", (time.time() - RELAYED_SECONDS,))
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()


class SqliteEventBus:
    """Fan-out to subscribers in every process that opens the same file; `publish` may be called from any thread."""

    def __init__(self, path: str | Path, *, poll_seconds: float = 0.02, keep_seconds: float = 10.0) -> None:
        self.path = Path(path)
        self._poll = poll_seconds
        self._keep = keep_seconds
        self._origin = uuid.uuid4().hex
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None, timeout=10.0)
        self._db.execute("PRAGMA journal_mode=WAL")
        # Live events are worthless after a crash: no need to wait for the disk.
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.execute("PRAGMA secure_delete=ON")  # rows carry message texts: expired ones are zeroed
        self._db.executescript(_SCHEMA)
        self._db_lock = threading.Lock()
        self._subs_lock = threading.Lock()
        self._subscribers: dict[str, set[_Subscription]] = {}
        self._publishes = 0
        self._pruned_at = time.time()
        self._cursor = self._last_id()
        self._relay: threading.Thread | None = None
        self._stop = threading.Event()

    def publish(self, topic: str, event: Mapping[str, Any]) -> None:
        """Send an event to every current subscriber of a topic, in this process and in the others."""
        text = encode_event(event)
        self._deliver(topic, text, None)
        now = time.time()
        with self._db_lock:
            self._db.execute(
                "INSERT INTO bus_events (origin, topic, payload, at) VALUES (?, ?, ?, ?)",
                (self._origin, topic, text, now),
            )
            self._publishes += 1
            # By count under load, by age when quiet: texts must not linger on disk for want of traffic.
            if self._publishes % _PRUNE_EVERY == 0 or now - self._pruned_at > self._keep:
                self._db.execute("DELETE FROM bus_events WHERE at < ?", (now - self._keep,))
                self._pruned_at = now

    async def subscribe(self, topic: str) -> AsyncIterator[JSON]:
        """Yield events published to the topic, by any process, after the first iteration starts."""
        subscription = _Subscription(asyncio.get_running_loop(), self._last_id())
        with self._subs_lock:
            self._subscribers.setdefault(topic, set()).add(subscription)
        self._count(topic, +1)
        self._start_relay()
        try:
            while True:
                yield await subscription.inbox.get()
        finally:
            self._remove(topic, subscription)
            self._count(topic, -1)

    def subscriber_count(self, topic: str) -> int:
        """How many subscriptions to the topic are live, in every process sharing the file."""
        with self._db_lock:
            row = self._db.execute("SELECT COALESCE(SUM(n), 0) FROM bus_subscribers WHERE topic = ?", (topic,))
            return int(row.fetchone()[0])

    def close(self) -> None:
        """Stop relaying, forget this process's subscriptions and release the file."""
        self._stop.set()
        if self._relay is not None:
            self._relay.join(timeout=5)
        with self._db_lock:
            self._db.execute("DELETE FROM bus_subscribers WHERE origin = ?", (self._origin,))
            self._db.close()

    # -- internals -------------------------------------------------------------------------------------

    def _last_id(self) -> int:
        with self._db_lock:
            return int(self._db.execute("SELECT COALESCE(MAX(id), 0) FROM bus_events").fetchone()[0])

    def _count(self, topic: str, delta: int) -> None:
        with self._db_lock:
            if self._stop.is_set():
                return
            self._db.execute(
                "INSERT INTO bus_subscribers (origin, topic, n) VALUES (?, ?, ?) "
                "ON CONFLICT (origin, topic) DO UPDATE SET n = n + excluded.n",
                (self._origin, topic, delta),
            )
            self._db.execute("DELETE FROM bus_subscribers WHERE n <= 0")

    def _deliver(self, topic: str, text: str, row_id: int | None) -> None:
        with self._subs_lock:
            targets = list(self._subscribers.get(topic, ()))
        for subscription in targets:
            if row_id is not None and row_id <= subscription.after:
                continue  # published before this subscription started
            try:
                subscription.loop.call_soon_threadsafe(subscription.inbox.offer, decode_event(text))
            except RuntimeError:  # the subscriber's loop is closed; its finally block never ran
                self._remove(topic, subscription)

    def _remove(self, topic: str, subscription: _Subscription) -> None:
        with self._subs_lock:
            entries = self._subscribers.get(topic)
            if entries is not None:
                entries.discard(subscription)
                if not entries:
                    del self._subscribers[topic]

    def _start_relay(self) -> None:
        with self._subs_lock:
            if self._relay is None:
                self._relay = threading.Thread(target=self._run_relay, name="event-bus-relay", daemon=True)
                self._relay.start()

    def _run_relay(self) -> None:
        while not self._stop.wait(self._poll):
            with self._subs_lock:
                topics = set(self._subscribers)
            with self._db_lock:
                if self._stop.is_set():
                    return
                rows = self._db.execute(
                    "SELECT id, origin, topic, payload FROM bus_events WHERE id > ? ORDER BY id", (self._cursor,)
                ).fetchall()
            if rows:
                self._cursor = int(rows[-1][0])
            for row_id, origin, topic, payload in rows:
                if origin != self._origin and topic in topics:
                    self._deliver(topic, payload, int(row_id))
