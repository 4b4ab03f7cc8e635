"""RedisStore: the whole `Store` port on one Redis database, shared safely by several app workers.

Key layout (kinds may not contain ':' so every key name parses one way):
  doc:{kind}:{id}        hash {json, owner}        docs:{kind} / owned:{kind}:{owner}   sets of ids
  docscore:{kind}        zset id -> -score (documents given a score, for `top`)
  msgs:{conversation}    zset message id -> seq    msgseq:{conversation}  counter   msg:{id}  hash {seq, json}
  events:at              zset event id -> at       events:data  hash event id -> json   events:seq  counter
  events:user:{user}     set of event ids          events:conv:{conversation}  set of event ids
  key:{key}              string (with a TTL)
Atomic steps run as Lua scripts; check-then-write on documents is a compare-and-set on the stored JSON text,
so matching rules are the same Python code as in SqliteStore and Lua never re-encodes JSON (cjson would
turn [] into {} and round floats to 14 digits).
"""

from __future__ import annotations

import builtins
import json
import logging
import re
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any, cast

import redis

from storage.ports import JSON, StoredEvent, StoredMessage
from storage.sqlite import check_kind, check_score, dump_json, fields_match

log = logging.getLogger(__name__)

_PAGE = 500
_GLOB_SPECIAL = re.compile(r"[\\*?\[\]]")  # escaped in SCAN patterns built from ids
_EVENT_ID_WIDTH = 15  # zero-padded so ids sort as numbers among events with the same time

_PUT = """
local old = redis.call('HGET', KEYS[1], 'owner')
redis.call('HSET', KEYS[1], 'json', ARGV[1])
redis.call('SADD', KEYS[2], ARGV[5])
if ARGV[3] == '1' and old ~= ARGV[2] then
  if old then redis.call('SREM', ARGV[4] .. old, ARGV[5]) end
  redis.call('HSET', KEYS[1], 'owner', ARGV[2])
  redis.call('SADD', ARGV[4] .. ARGV[2], ARGV[5])
end
return 1
"""

_DELETE = """
local old = redis.call('HGET', KEYS[1], 'owner')
if redis.call('DEL', KEYS[1]) == 0 then return 0 end
redis.call('SREM', KEYS[2], ARGV[2])
redis.call('ZREM', KEYS[3], ARGV[2])
if old then redis.call('SREM', ARGV[1] .. old, ARGV[2]) end
return 1
"""

_COMPARE_AND_SET = """
if redis.call('HGET', KEYS[1], 'json') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'json', ARGV[2])
if ARGV[3] == '1' then redis.call('ZADD', KEYS[2], ARGV[4], ARGV[5]) end
return 1
"""

_APPEND = """
if ARGV[3] == '1' and redis.call('HGET', KEYS[4], 'json') ~= ARGV[4] then return 0 end
local seq = redis.call('INCR', KEYS[1])
redis.call('ZADD', KEYS[2], seq, ARGV[2])
redis.call('HSET', KEYS[3], 'seq', seq, 'json', ARGV[1])
return seq
"""

_DELETE_MESSAGES = """
local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
for _, id in ipairs(ids) do redis.call('DEL', ARGV[1] .. id) end
redis.call('DEL', KEYS[1], KEYS[2])
return #ids
"""

_DELETE_EVENTS = """
local n = 0
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local raw = redis.call('HGET', KEYS[3], id)
  if raw then
    local event = cjson.decode(raw)
    redis.call('HDEL', KEYS[3], id)
    redis.call('ZREM', KEYS[2], id)
    if event.user_id ~= '' then redis.call('SREM', ARGV[1] .. event.user_id, id) end
    if event.conversation_id ~= '' then redis.call('SREM', ARGV[2] .. event.conversation_id, id) end
    n = n + 1
  end
end
redis.call('DEL', KEYS[1])
return n
"""

# One command per page of documents instead of one per document: most of a listing's cost was the client's
# work per command (3000 small documents: 81 -> 34 ms of CPU in the client).
_GET_MANY = """
local out = {}
for i = 2, #ARGV do
  out[i - 1] = redis.call('HGET', ARGV[1] .. ARGV[i], 'json') or false
end
return out
"""

_HIT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n
"""


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


def _loads(text: str) -> JSON:
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError("stored document is not a JSON object")
    return value


class RedisStore:
    """Documents, message log, event log and keys in Redis; no in-process state, so workers can share it."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._r: redis.Redis = redis.Redis.from_url(url, decode_responses=True)
        self._put = self._r.register_script(_PUT)
        self._delete = self._r.register_script(_DELETE)
        self._cas = self._r.register_script(_COMPARE_AND_SET)
        self._append = self._r.register_script(_APPEND)
        self._delete_messages = self._r.register_script(_DELETE_MESSAGES)
        self._delete_events = self._r.register_script(_DELETE_EVENTS)
        self._hit = self._r.register_script(_HIT)
        self._get_many = self._r.register_script(_GET_MANY)

    # -- documents -----------------------------------------------------------------------------------

    def put(self, kind: str, doc_id: str, data: Mapping[str, Any], *, owner: str | None = None) -> None:
        """Create or replace a document; `owner=None` keeps the owner already recorded (if any)."""
        kind = check_kind(kind)
        self._put(
            keys=[f"doc:{kind}:{doc_id}", f"docs:{kind}"],
            args=[dump_json(data), owner or "", "0" if owner is None else "1", f"owned:{kind}:", doc_id],
        )

    def get(self, kind: str, doc_id: str) -> JSON | None:
        """The document, or None."""
        raw = self._raw_doc(kind, doc_id)
        return None if raw is None else _loads(raw)

    def list(self, kind: str, *, owner: str | None = None, where: Mapping[str, Any] | None = None) -> list[JSON]:
        """Documents of a kind, ordered by id (optionally of one owner and matching `where`)."""
        kind = check_kind(kind)
        index = f"docs:{kind}" if owner is None else f"owned:{kind}:{owner}"
        docs = self._docs(kind, sorted(cast(set[str], self._r.smembers(index))))
        return [doc for doc in docs if fields_match(doc, where)] if where else docs

    def delete(self, kind: str, doc_id: str) -> bool:
        """Remove a document; True if it existed."""
        kind = check_kind(kind)
        keys = [f"doc:{kind}:{doc_id}", f"docs:{kind}", f"docscore:{kind}"]
        return bool(self._delete(keys=keys, args=[f"owned:{kind}:", doc_id]))

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
        key = f"doc:{check_kind(kind)}:{doc_id}"
        score = check_score(score)
        # Stored negated: ZRANGE then lists the highest first and breaks ties by id, as SQLite's ORDER BY does.
        ranked = ["0", "0"] if score is None else ["1", repr(-score)]
        while True:
            raw = self._raw_doc(kind, doc_id)
            if raw is None:
                return None
            doc = _loads(raw)
            if not fields_match(doc, expected):
                return None
            doc.update(changes)
            # The write lands only if nobody changed the document since we read it; otherwise someone
            # else made progress, so re-read and re-check (a lost claim race ends here with None).
            if self._cas(keys=[key, f"docscore:{kind}"], args=[raw, dump_json(doc), *ranked, doc_id]):
                return doc

    def top(self, kind: str, limit: int) -> builtins.list[JSON]:
        """The `limit` highest-scored documents of a kind, highest first (equal scores by id)."""
        kind = check_kind(kind)
        if limit <= 0:
            return []
        return self._docs(kind, cast(builtins.list[str], self._r.zrange(f"docscore:{kind}", 0, limit - 1)))

    def _docs(self, kind: str, ids: Sequence[str]) -> builtins.list[JSON]:
        """The documents of these ids, in order, a page of ids per command (one deleted meanwhile is skipped)."""
        docs: builtins.list[JSON] = []
        for start in range(0, len(ids), _PAGE):
            raws = cast(builtins.list[str | None], self._get_many(args=[f"doc:{kind}:", *ids[start : start + _PAGE]]))
            docs.extend(_loads(raw) for raw in raws if raw is not None)
        return docs

    def owners_of(self, kind: str, doc_id: str) -> str | None:
        """The owner recorded for a document, or None."""
        return cast(str | None, self._r.hget(f"doc:{check_kind(kind)}:{doc_id}", "owner"))

    def owned(self, owner: str) -> builtins.list[tuple[str, str]]:
        """(kind, id) of every document owned by `owner`, ordered by kind and id (scans the owner indexes)."""
        found: builtins.list[tuple[str, str]] = []
        pattern = "owned:*:" + _GLOB_SPECIAL.sub(r"\\\g<0>", owner)
        for key in cast(Iterator[str], self._r.scan_iter(match=pattern, count=1000)):
            _, kind, key_owner = key.split(":", 2)
            if key_owner == owner:  # `*` may also have matched the start of an owner that contains ':'
                found.extend((kind, doc_id) for doc_id in cast(set[str], self._r.smembers(key)))
        return sorted(found)

    def _raw_doc(self, kind: str, doc_id: str) -> str | None:
        return cast(str | None, self._r.hget(f"doc:{check_kind(kind)}:{doc_id}", "json"))

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
        created_at = time.time() if at is None else at
        message_id = uuid.uuid4().hex
        body = dump_json(
            {
                "id": message_id,
                "conversation_id": conversation_id,
                "role": role,
                "text": text,
                "created_at": created_at,
                "data": payload,
            }
        )
        keys = [f"msgseq:{conversation_id}", f"msgs:{conversation_id}", f"msg:{message_id}"]
        keys.append(f"doc:conversation:{conversation_id}")
        while True:
            checked = ""
            if require is not None:
                raw = self._raw_doc("conversation", conversation_id)
                if raw is None or not fields_match(_loads(raw), require):
                    return None
                checked = raw
            # With `require`, the script appends only if the conversation is still the text we checked.
            seq = int(self._append(keys=keys, args=[body, message_id, "0" if require is None else "1", checked]))
            if seq:
                return StoredMessage(message_id, conversation_id, seq, role, text, created_at, payload)

    def list_messages(
        self, conversation_id: str, *, after_seq: int = 0, limit: int | None = None
    ) -> builtins.list[StoredMessage]:
        """Messages with seq > after_seq, in order."""
        ids = cast(
            builtins.list[str],
            self._r.zrangebyscore(
                f"msgs:{conversation_id}",
                f"({after_seq}",
                "+inf",
                start=None if limit is None else 0,
                num=limit,
            ),
        )
        messages: builtins.list[StoredMessage] = []
        for start in range(0, len(ids), _PAGE):
            pipe = self._r.pipeline(transaction=False)
            for message_id in ids[start : start + _PAGE]:
                pipe.hmget(f"msg:{message_id}", ["seq", "json"])
            messages.extend(_message(seq, raw) for seq, raw in pipe.execute() if raw is not None)
        return messages

    def get_message(self, message_id: str) -> StoredMessage | None:
        """One message by id."""
        seq, raw = cast(builtins.list[str | None], self._r.hmget(f"msg:{message_id}", ["seq", "json"]))
        return None if seq is None or raw is None else _message(seq, raw)

    def delete_messages(self, conversation_id: str) -> int:
        """Remove a conversation's whole log; returns how many messages were removed."""
        keys = [f"msgs:{conversation_id}", f"msgseq:{conversation_id}"]
        return int(self._delete_messages(keys=keys, args=["msg:"]))

    # -- events --------------------------------------------------------------------------------------

    def append_events(self, events: Sequence[StoredEvent]) -> None:
        """Store events durably in one MULTI/EXEC transaction."""
        if not events:
            return
        last = int(cast(int, self._r.incrby("events:seq", len(events))))
        pipe = self._r.pipeline(transaction=True)
        for offset, event in enumerate(events):
            event_id = last - len(events) + 1 + offset
            member = f"{event_id:0{_EVENT_ID_WIDTH}d}"
            body = {
                "id": event_id,
                "type": event.type,
                "at": event.at,
                "conversation_id": event.conversation_id,
                "user_id": event.user_id,
                "data": event.data,
            }
            pipe.hset("events:data", member, dump_json(body))
            pipe.zadd("events:at", {member: event.at})
            if event.user_id:
                pipe.sadd(f"events:user:{event.user_id}", member)
            if event.conversation_id:
                pipe.sadd(f"events:conv:{event.conversation_id}", member)
        pipe.execute()

    def iter_events(self, start: float, end: float, *, types: Sequence[str] | None = None) -> Iterator[StoredEvent]:
        """Events with start <= at < end, ordered by time (then id), read page by page."""
        wanted = set(types) if types is not None else None
        low, ties = start, 0  # ties: events already read whose time equals `low`
        while True:
            page = cast(
                builtins.list[tuple[str, float]],
                self._r.zrangebyscore("events:at", low, f"({end!r}", start=ties, num=_PAGE, withscores=True),
            )
            if not page:
                return
            bodies = cast(builtins.list[str | None], self._r.hmget("events:data", [m for m, _ in page]))
            for raw in bodies:
                if raw is None:  # erased since the range was read
                    continue
                event = _event(raw)
                if wanted is None or event.type in wanted:
                    yield event
            last_at = page[-1][1]
            same = sum(1 for _, at in page if at == last_at)
            ties = ties + same if last_at == low else same
            low = last_at
            if len(page) < _PAGE:
                return

    def delete_events(self, *, user_id: str | None = None, conversation_id: str | None = None) -> int:
        """Erase the events of a user and/or a conversation; returns how many were removed."""
        if not user_id and not conversation_id:
            raise ValueError("delete_events needs a user_id or a conversation_id")
        indexes = [f"events:user:{user_id}"] if user_id else []
        indexes += [f"events:conv:{conversation_id}"] if conversation_id else []
        prefixes = ["events:user:", "events:conv:"]
        return sum(int(self._delete_events(keys=[i, "events:at", "events:data"], args=prefixes)) for i in indexes)

    def events_of(
        self, *, user_id: str | None = None, conversation_id: str | None = None
    ) -> builtins.list[StoredEvent]:
        """Every event of a user or a conversation, ordered by time (then id)."""
        if not user_id and not conversation_id:
            raise ValueError("events_of needs a user_id or a conversation_id")
        indexes = [f"events:user:{user_id}"] if user_id else []
        indexes += [f"events:conv:{conversation_id}"] if conversation_id else []
        members = sorted(cast(set[str], self._r.sunion(indexes)))
        events: builtins.list[StoredEvent] = []
        for start in range(0, len(members), _PAGE):
            bodies = cast(builtins.list[str | None], self._r.hmget("events:data", members[start : start + _PAGE]))
            events.extend(_event(raw) for raw in bodies if raw is not None)
        return sorted(events, key=lambda e: (e.at, e.id))

    # -- keys ----------------------------------------------------------------------------------------

    def set_once(self, key: str, value: str, ttl_seconds: float) -> bool:
        """Set the key only if absent; True if this call set it."""
        return bool(self._r.set(f"key:{key}", value, nx=True, px=_ms(ttl_seconds)))

    def get_key(self, key: str) -> str | None:
        """The value, or None if absent or expired."""
        return cast(str | None, self._r.get(f"key:{key}"))

    def set_key(self, key: str, value: str, ttl_seconds: float | None = None) -> None:
        """Set (overwrite) a key, with an optional time to live."""
        self._r.set(f"key:{key}", value, px=None if ttl_seconds is None else _ms(ttl_seconds))

    def delete_key(self, key: str) -> None:
        """Remove a key."""
        self._r.delete(f"key:{key}")

    def hit(self, key: str, window_seconds: float) -> int:
        """Count one hit in a fixed window starting at the first hit; returns the count so far."""
        return int(self._hit(keys=[f"key:{key}"], args=[_ms(window_seconds)]))

    # -- whole store ---------------------------------------------------------------------------------

    def ping(self) -> bool:
        """True when Redis answers."""
        try:
            return bool(self._r.ping())
        except redis.RedisError:
            return False

    def dump_text(self) -> str:
        """Every key of the database with its value(s), one key per line, sorted by key."""
        lines = []
        for key in sorted(cast(Iterator[str], self._r.scan_iter(count=1000))):
            kind = self._r.type(key)
            value: Any
            if kind == "string":
                value = self._r.get(key)
            elif kind == "hash":
                value = self._r.hgetall(key)
            elif kind == "set":
                value = sorted(cast(set[str], self._r.smembers(key)))
            elif kind == "zset":
                value = self._r.zrange(key, 0, -1, withscores=True)
            elif kind == "list":
                value = self._r.lrange(key, 0, -1)
            else:
                value = f"<{kind}>"
            lines.append(f"{key} {kind} {json.dumps(value, ensure_ascii=False)}")
        return "\n".join(lines)

    def write_group(self) -> AbstractContextManager[None]:
        """Each write is its own command here (appended to the AOF as it comes): nothing to group."""
        return nullcontext()

    def scrub(self) -> None:
        """Rewrite the append-only file, whose history still holds deleted values (no-op without AOF)."""
        try:
            if cast(dict[str, Any], self._r.info("persistence")).get("aof_enabled"):
                self._r.bgrewriteaof()
        except redis.ResponseError:
            # A rewrite is already running; it forked before this erasure, so ask for one more once it ends.
            log.warning("an AOF rewrite was already running; erased values stay in the AOF until the next one")

    def close(self) -> None:
        """Release the connection pool."""
        self._r.close()


def _event(raw: str) -> StoredEvent:
    body = _loads(raw)
    return StoredEvent(
        body["type"], float(body["at"]), body["conversation_id"], body["user_id"], body["data"], body["id"]
    )


def _message(seq: str, raw: str) -> StoredMessage:
    body = _loads(raw)
    return StoredMessage(
        body["id"],
        body["conversation_id"],
        int(seq),
        body["role"],
        body["text"],
        float(body["created_at"]),
        body["data"],
    )
