"""SqliteStore: the whole `Store` port on one stdlib sqlite3 connection (WAL, writes serialised)."""

from __future__ import annotations

import builtins
import json
import math
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from assistant.errors import ConfigError
from storage.ports import JSON, StoredEvent, StoredMessage, is_lock_key
from storage.sqlite_bus import bus_path, scrub_bus

SYNCHRONOUS_MODES = ("OFF", "NORMAL", "FULL", "EXTRA")
_EVENT_PAGE = 500
# Expired keys are purged every so many key writes rather than on each one, to keep writes cheap.
_PURGE_EVERY = 256
_FLUSHING_MODES = ("FULL", "EXTRA")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    owner TEXT,
    json TEXT NOT NULL,
    updated_at REAL NOT NULL,
    score REAL,
    PRIMARY KEY (kind, id)
);
CREATE INDEX IF NOT EXISTS documents_kind_owner ON documents (kind, owner);
CREATE INDEX IF NOT EXISTS documents_owner ON documents (owner);
CREATE TABLE IF NOT EXISTS messages (
    id TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    role TEXT NOT NULL,
    text TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at REAL NOT NULL,
    UNIQUE (conversation_id, seq)
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    type TEXT NOT NULL,
    at REAL NOT NULL,
    conversation_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_at ON events (at, id);
CREATE INDEX IF NOT EXISTS events_user ON events (user_id);
CREATE INDEX IF NOT EXISTS events_conversation ON events (conversation_id);
CREATE TABLE IF NOT EXISTS keys (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    expires_at REAL
);
CREATE INDEX IF NOT EXISTS keys_expires_at ON keys (expires_at);
"""
# After the column exists (files from before `score` get it in `_migrate`).
_SCORE_INDEX = (
    "CREATE INDEX IF NOT EXISTS documents_kind_score ON documents (kind, score DESC, id) WHERE score IS NOT NULL"
)


def dump_json(data: Mapping[str, Any]) -> str:
    """Compact JSON that keeps Chinese readable and refuses NaN (which is not JSON)."""
    return json.dumps(dict(data), ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _same(a: Any, b: Any) -> bool:
    # JSON has no 1 == true: Python's bool is an int, so booleans are compared apart from numbers.
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def fields_match(doc: Mapping[str, Any], expected: Mapping[str, Any]) -> bool:
    """True if every expected top-level field equals the document's (a missing field counts as None)."""
    return all(_same(doc.get(key), value) for key, value in expected.items())


def check_kind(kind: str) -> str:
    """The kind, if it is a usable document kind (non-empty, no ':' so Redis key names parse one way)."""
    if not kind or ":" in kind:
        raise ValueError(f"document kind must be non-empty and contain no ':', got {kind!r}")
    return kind


def check_score(score: float | None) -> float | None:
    """The score as a float, if it is a usable one (finite: NaN would sort nowhere and JSON cannot carry it)."""
    if score is not None and not math.isfinite(score):
        raise ValueError(f"a document's score must be a finite number, got {score!r}")
    return None if score is None else float(score)


class SqliteStore:
    """Documents, message log, event log and keys in one SQLite file (or `:memory:`)."""

    def __init__(self, path: str | Path, synchronous: str = "FULL") -> None:
        mode = synchronous.upper()
        if mode not in SYNCHRONOUS_MODES:
            raise ConfigError(f"sqlite synchronous must be one of {SYNCHRONOUS_MODES}, not {synchronous!r}")
        self.path = str(path)
        self._mode = mode
        self._lock = threading.RLock()
        self._key_writes = 0
        # isolation_level=None: we issue BEGIN IMMEDIATE ourselves so check-and-write is one transaction
        # that also excludes writers in other processes sharing the file.
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=10.0)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(f"PRAGMA synchronous={mode}")
        # Erasure must not leave deleted rows readable in free pages of the file.
        self._db.execute("PRAGMA secure_delete=ON")
        with self._lock:
            self._db.executescript(_SCHEMA)
        self._migrate()

    def _migrate(self) -> None:
        """Bring a file written by an older version up to the current schema (other workers may race us)."""
        with self._write() as db:
            columns = {row[1] for row in db.execute("PRAGMA table_info(documents)")}
            if "score" not in columns:
                db.execute("ALTER TABLE documents ADD COLUMN score REAL")
            db.execute(_SCORE_INDEX)

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self._db.in_transaction:  # inside `write_group` (only the lock's holder opens transactions)
                yield self._db
                return
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    @contextmanager
    def write_group(self) -> Iterator[None]:
        """Commit every write of the block at once: one transaction, so one flush to disk instead of one per write.

        Other threads wait for the store meanwhile (they would wait for each flush anyway): keep the block short.
        """
        with self._write():
            yield

    def _write_one(self, sql: str, params: Sequence[Any]) -> int:
        """One statement, committed on its own (SQLite makes a lone statement atomic); returns the rows changed.

        Without BEGIN and COMMIT around it the store lock is held across one call into SQLite instead of three,
        and each call gives up the GIL and must win it back from the request threads before the lock is free.
        """
        with self._lock:
            return int(self._db.execute(sql, params).rowcount)

    def _write_unflushed(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        """One statement committed without waiting for the disk (see `KeyStore`); returns the rows it returned.

        In WAL mode such a commit survives a crash of the process, and the next flushed commit flushes it too;
        only a power loss right after it may lose it. Each flush costs milliseconds (2.4 ms measured on the bench
        machine) with the store lock held, and a turn takes a lock and counts two rate-limit hits.
        """
        with self._lock:
            if self._db.in_transaction or self._mode not in _FLUSHING_MODES:
                return list(self._db.execute(sql, params).fetchall())
            self._db.execute("PRAGMA synchronous=NORMAL")
            try:
                return list(self._db.execute(sql, params).fetchall())
            finally:
                self._db.execute(f"PRAGMA synchronous={self._mode}")

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return list(self._db.execute(sql, params).fetchall())

    # -- documents -----------------------------------------------------------------------------------

    def put(self, kind: str, doc_id: str, data: Mapping[str, Any], *, owner: str | None = None) -> None:
        """Create or replace a document; `owner=None` keeps the owner already recorded (if any)."""
        text = dump_json(data)
        check_kind(kind)
        self._write_one(
            "INSERT INTO documents (kind, id, owner, json, updated_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (kind, id) DO UPDATE SET json = excluded.json, "
            "updated_at = excluded.updated_at, owner = COALESCE(excluded.owner, documents.owner)",
            (kind, doc_id, owner, text, time.time()),
        )

    def get(self, kind: str, doc_id: str) -> JSON | None:
        """The document, or None."""
        rows = self._read("SELECT json FROM documents WHERE kind = ? AND id = ?", (kind, doc_id))
        return _loads(rows[0][0]) if rows else None

    def list(
        self, kind: str, *, owner: str | None = None, where: Mapping[str, Any] | None = None
    ) -> builtins.list[JSON]:
        """Documents of a kind, ordered by id (optionally of one owner and matching `where`)."""
        if owner is None:
            rows = self._read("SELECT json FROM documents WHERE kind = ? ORDER BY id", (kind,))
        else:
            rows = self._read("SELECT json FROM documents WHERE kind = ? AND owner = ? ORDER BY id", (kind, owner))
        docs = [_loads(row[0]) for row in rows]
        return [doc for doc in docs if fields_match(doc, where)] if where else docs

    def delete(self, kind: str, doc_id: str) -> bool:
        """Remove a document; True if it existed."""
        return self._write_one("DELETE FROM documents WHERE kind = ? AND id = ?", (kind, doc_id)) > 0

    def update_if(
        self,
        kind: str,
        doc_id: str,
        expected: Mapping[str, Any],
        changes: Mapping[str, Any],
        *,
        score: float | None = None,
    ) -> JSON | None:
        """Atomically apply `changes` if every `expected` field matches; else None (`score`: see `top`)."""
        with self._write() as db:
            row = db.execute("SELECT json FROM documents WHERE kind = ? AND id = ?", (kind, doc_id)).fetchone()
            if row is None:
                return None
            doc = _loads(row[0])
            if not fields_match(doc, expected):
                return None
            doc.update(changes)
            db.execute(
                "UPDATE documents SET json = ?, updated_at = ?, score = COALESCE(?, score) WHERE kind = ? AND id = ?",
                (dump_json(doc), time.time(), check_score(score), kind, doc_id),
            )
            return doc

    def top(self, kind: str, limit: int) -> builtins.list[JSON]:
        """The `limit` highest-scored documents of a kind, highest first (equal scores by id), off an index."""
        rows = self._read(
            "SELECT json FROM documents WHERE kind = ? AND score IS NOT NULL ORDER BY score DESC, id LIMIT ?",
            (kind, max(0, limit)),
        )
        return [_loads(row[0]) for row in rows]

    def owners_of(self, kind: str, doc_id: str) -> str | None:
        """The owner recorded for a document, or None."""
        rows = self._read("SELECT owner FROM documents WHERE kind = ? AND id = ?", (kind, doc_id))
        return rows[0][0] if rows else None

    def owned(self, owner: str) -> builtins.list[tuple[str, str]]:
        """(kind, id) of every document owned by `owner`, ordered by kind and id."""
        rows = self._read("SELECT kind, id FROM documents WHERE owner = ? ORDER BY kind, id", (owner,))
        return [(str(kind), str(doc_id)) for kind, doc_id in rows]

    # -- messages ------------------------------------------------------------------------------------

    def append_message(
        self,
        conversation_id: str,
        role: str,
        text: str,
        data: Mapping[str, Any] | None = None,
        *,
        require: Mapping[str, Any] | None = None,
        at: float | None = None,
    ) -> StoredMessage | None:
        """Append durably; with `require`, only if the conversation document matches it right now."""
        payload = dict(data or {})
        data_text = dump_json(payload)
        created_at = time.time() if at is None else at
        message_id = uuid.uuid4().hex
        if require is None:
            # One statement numbers and inserts the message, atomically, even against other worker processes.
            with self._lock:
                ((seq,),) = self._db.execute(
                    "INSERT INTO messages (id, conversation_id, seq, role, text, data, created_at) "
                    "SELECT ?, ?, COALESCE(MAX(seq), 0) + 1, ?, ?, ?, ? FROM messages WHERE conversation_id = ? "
                    "RETURNING seq",
                    (message_id, conversation_id, role, text, data_text, created_at, conversation_id),
                ).fetchall()
            return StoredMessage(message_id, conversation_id, int(seq), role, text, created_at, payload)
        with self._write() as db:
            if require is not None:
                row = db.execute(
                    "SELECT json FROM documents WHERE kind = 'conversation' AND id = ?", (conversation_id,)
                ).fetchone()
                if row is None or not fields_match(_loads(row[0]), require):
                    return None
            (seq,) = db.execute(
                "SELECT COALESCE(MAX(seq), 0) + 1 FROM messages WHERE conversation_id = ?", (conversation_id,)
            ).fetchone()
            db.execute(
                "INSERT INTO messages (id, conversation_id, seq, role, text, data, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (message_id, conversation_id, seq, role, text, data_text, created_at),
            )
        return StoredMessage(message_id, conversation_id, int(seq), role, text, created_at, payload)

    def list_messages(
        self, conversation_id: str, *, after_seq: int = 0, limit: int | None = None
    ) -> builtins.list[StoredMessage]:
        """Messages with seq > after_seq, in order."""
        rows = self._read(
            "SELECT id, conversation_id, seq, role, text, created_at, data FROM messages "
            "WHERE conversation_id = ? AND seq > ? ORDER BY seq LIMIT ?",
            (conversation_id, after_seq, -1 if limit is None else limit),
        )
        return [_message(row) for row in rows]

    def get_message(self, message_id: str) -> StoredMessage | None:
        """One message by id."""
        rows = self._read(
            "SELECT id, conversation_id, seq, role, text, created_at, data FROM messages WHERE id = ?",
            (message_id,),
        )
        return _message(rows[0]) if rows else None

    def delete_messages(self, conversation_id: str) -> int:
        """Remove a conversation's whole log; returns how many messages were removed."""
        with self._write() as db:
            return db.execute("DELETE FROM messages WHERE conversation_id = ?", (conversation_id,)).rowcount

    # -- events --------------------------------------------------------------------------------------

    def append_events(self, events: Sequence[StoredEvent]) -> None:
        """Store events durably in one transaction."""
        if not events:
            return
        rows = [(e.type, e.at, e.conversation_id, e.user_id, dump_json(e.data)) for e in events]
        insert = "INSERT INTO events (type, at, conversation_id, user_id, data) VALUES (?, ?, ?, ?, ?)"
        if len(rows) == 1:  # most turns: a lone statement is its own transaction
            self._write_one(insert, rows[0])
            return
        with self._write() as db:
            db.executemany(insert, rows)

    def iter_events(self, start: float, end: float, *, types: Sequence[str] | None = None) -> Iterator[StoredEvent]:
        """Events with start <= at < end, ordered by time (then id), read page by page."""
        wanted = set(types) if types is not None else None
        last_at, last_id = start, -1
        while True:
            # Keyset paging holds the lock only per page, so a slow consumer never blocks writers. The row-value
            # comparison lets SQLite walk the (at, id) index in order; the equivalent OR sorted every page.
            rows = self._read(
                "SELECT id, type, at, conversation_id, user_id, data FROM events "
                "WHERE (at, id) > (?, ?) AND at < ? ORDER BY at, id LIMIT ?",
                (last_at, last_id, end, _EVENT_PAGE),
            )
            for row in rows:
                if wanted is None or row[1] in wanted:
                    yield StoredEvent(row[1], row[2], row[3], row[4], _loads(row[5]), int(row[0]))
            if len(rows) < _EVENT_PAGE:
                return
            last_at, last_id = rows[-1][2], rows[-1][0]

    def delete_events(self, *, user_id: str | None = None, conversation_id: str | None = None) -> int:
        """Erase the events of a user and/or a conversation; returns how many were removed."""
        if not user_id and not conversation_id:
            raise ValueError("delete_events needs a user_id or a conversation_id")
        with self._write() as db:
            return db.execute(
                "DELETE FROM events WHERE user_id = ? OR conversation_id = ?",
                (user_id or None, conversation_id or None),
            ).rowcount

    def events_of(
        self, *, user_id: str | None = None, conversation_id: str | None = None
    ) -> builtins.list[StoredEvent]:
        """Every event of a user or a conversation, ordered by time (then id)."""
        if not user_id and not conversation_id:
            raise ValueError("events_of needs a user_id or a conversation_id")
        rows = self._read(
            "SELECT id, type, at, conversation_id, user_id, data FROM events "
            "WHERE user_id = ? OR conversation_id = ? ORDER BY at, id",
            (user_id or None, conversation_id or None),
        )
        return [StoredEvent(row[1], row[2], row[3], row[4], _loads(row[5]), int(row[0])) for row in rows]

    # -- keys ----------------------------------------------------------------------------------------

    def set_once(self, key: str, value: str, ttl_seconds: float) -> bool:
        """Set the key only if absent (or expired); True if this call set it."""
        now = time.time()
        self._purge_expired(now)
        # An expired key is taken over; a live one (or one without expiry) makes the upsert change nothing.
        sql = (
            "INSERT INTO keys (key, value, expires_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET "
            "value = excluded.value, expires_at = excluded.expires_at WHERE keys.expires_at <= ? RETURNING 1"
        )
        params = (key, value, now + ttl_seconds, now)
        if is_lock_key(key):
            return bool(self._write_unflushed(sql, params))
        with self._lock:
            return bool(self._db.execute(sql, params).fetchall())  # fetching every row finishes (commits) it

    def get_key(self, key: str) -> str | None:
        """The value, or None if absent or expired."""
        rows = self._read(
            "SELECT value FROM keys WHERE key = ? AND (expires_at IS NULL OR expires_at > ?)",
            (key, time.time()),
        )
        return str(rows[0][0]) if rows else None

    def set_key(self, key: str, value: str, ttl_seconds: float | None = None) -> None:
        """Set (overwrite) a key, with an optional time to live."""
        now = time.time()
        expires_at = None if ttl_seconds is None else now + ttl_seconds
        self._purge_expired(now)
        self._write_one(
            "INSERT OR REPLACE INTO keys (key, value, expires_at) VALUES (?, ?, ?)", (key, value, expires_at)
        )

    def delete_key(self, key: str) -> None:
        """Remove a key."""
        if is_lock_key(key):
            self._write_unflushed("DELETE FROM keys WHERE key = ?", (key,))
        else:
            self._write_one("DELETE FROM keys WHERE key = ?", (key,))

    def hit(self, key: str, window_seconds: float) -> int:
        """Count one hit in a fixed window starting at the first hit; returns the count so far."""
        now = time.time()
        self._purge_expired(now)
        # One statement: a live window counts on (SET reads the row as it was), an expired one starts afresh.
        live = "keys.expires_at IS NULL OR keys.expires_at > ?"
        rows = self._write_unflushed(
            "INSERT INTO keys (key, value, expires_at) VALUES (?, '1', ?) ON CONFLICT (key) DO UPDATE SET "
            f"value = CASE WHEN {live} THEN CAST(CAST(keys.value AS INTEGER) + 1 AS TEXT) ELSE '1' END, "
            f"expires_at = CASE WHEN {live} THEN keys.expires_at ELSE excluded.expires_at END "
            "RETURNING value",
            (key, now + window_seconds, now, now),
        )
        return int(rows[0][0])

    def _purge_expired(self, now: float) -> None:
        with self._lock:
            self._key_writes += 1
            due = self._key_writes % _PURGE_EVERY == 0
        if due:  # what it removes had expired already: no need to wait for the disk
            self._write_unflushed("DELETE FROM keys WHERE expires_at <= ?", (now,))

    # -- whole store ---------------------------------------------------------------------------------

    def ping(self) -> bool:
        """True when the database answers."""
        try:
            return self._read("SELECT 1") == [(1,)]
        except sqlite3.Error:
            return False

    def dump_text(self) -> str:
        """Every row of every table as text (expired keys included: they are still stored)."""
        with self._lock:
            return "\n".join(self._db.iterdump())

    def scrub(self) -> None:
        """Checkpoint and truncate the WAL, whose old frames still hold deleted rows (freed pages are zeroed);
        erase relayed events from the workers' event-bus side file, which carry message texts too."""
        with self._lock:
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        scrub_bus(bus_path(self.path))

    def close(self) -> None:
        """Close the connection (the last close also checkpoints and removes the WAL file)."""
        with self._lock:
            self._db.close()


def _loads(text: str) -> JSON:
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError("stored document is not a JSON object")
    return value


def _message(row: tuple[Any, ...]) -> StoredMessage:
    return StoredMessage(row[0], row[1], int(row[2]), row[3], row[4], float(row[5]), _loads(row[6]))
