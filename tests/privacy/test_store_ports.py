"""The store operations privacy relies on, on both backends: documents by owner, events by user, scrubbing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from storage.ports import Store, StoredEvent
from storage.redis import RedisStore
from storage.sqlite import SqliteStore

# Owners with ':' and glob characters must never match one another's documents.
TRICKY = "wechat:o*[x]?"
PLAIN = "wechat:o"


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.integration)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    opened: Store = (
        SqliteStore(tmp_path / "p.db")
        if request.param == "sqlite"
        else RedisStore(request.getfixturevalue("redis_url"))
    )
    yield opened
    opened.close()


def test_owned_lists_every_kind_of_one_owner_only(store: Store) -> None:
    store.put("user", TRICKY, {"n": 1}, owner=TRICKY)
    store.put("conversation", "c1", {"n": 2}, owner=TRICKY)
    store.put("some_future_kind", "x9", {"n": 3}, owner=TRICKY)
    store.put("conversation", "c2", {"n": 4}, owner=PLAIN)
    store.put("conversation", "c3", {"n": 5}, owner="wechat:o*[x]?-other")
    store.put("agent", "alice", {"n": 6})

    assert store.owned(TRICKY) == [("conversation", "c1"), ("some_future_kind", "x9"), ("user", TRICKY)]
    assert store.owned(PLAIN) == [("conversation", "c2")]
    assert store.owned("nobody") == []
    store.delete("conversation", "c1")
    assert ("conversation", "c1") not in store.owned(TRICKY)


def test_events_of_finds_a_users_or_a_conversations_events_in_time_order(store: Store) -> None:
    store.append_events(
        [
            StoredEvent("turn", 3.0, "c1", "u1", {"i": 3}),
            StoredEvent("turn", 1.0, "c1", "u1", {"i": 1}),
            StoredEvent("csat", 2.0, "c2", "u2", {"i": 2}),
            StoredEvent("handoff.created", 4.0, "c3", "", {"i": 4}),
        ]
    )

    assert [e.data["i"] for e in store.events_of(user_id="u1")] == [1, 3]
    assert [e.data["i"] for e in store.events_of(conversation_id="c3")] == [4]
    assert [e.data["i"] for e in store.events_of(user_id="u2", conversation_id="c3")] == [2, 4]
    assert store.events_of(user_id="nobody") == []
    with pytest.raises(ValueError, match="user_id or a conversation_id"):
        store.events_of()


def test_scrub_is_safe_to_call_at_any_time(store: Store) -> None:
    store.put("user", "u1", {"n": 1}, owner="u1")
    store.scrub()
    store.scrub()
    assert store.get("user", "u1") == {"n": 1}
