"""Which subscriptions get an event: changes here apply at once, another worker's within the listing TTL."""

from __future__ import annotations

from pathlib import Path

from channels.subscriptions import LIST_TTL_SECONDS, WebhookSubscriptions
from storage.sqlite import SqliteStore


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_changes_apply_at_once_here_and_within_the_ttl_in_other_workers(tmp_path: Path) -> None:
    clock = Clock()
    here = WebhookSubscriptions(SqliteStore(tmp_path / "s.db"), clock=clock)
    there = WebhookSubscriptions(SqliteStore(tmp_path / "s.db"), clock=clock)  # another worker, same store
    assert here.for_event("message.created") == []
    assert there.for_event("message.created") == []

    first = here.subscribe("http://127.0.0.1:9/a", ["message.created"])
    assert [s["id"] for s in here.for_event("message.created")] == [first["id"]]
    assert here.for_event("handoff.created") == []
    clock.now += LIST_TTL_SECONDS
    assert [s["id"] for s in there.for_event("message.created")] == [first["id"]]

    there.unsubscribe(first["id"])
    assert there.for_event("message.created") == []
    clock.now += LIST_TTL_SECONDS
    assert here.for_event("message.created") == []
