"""The summary reads the same figures from SQLite and from a real redis-server, and erasure removes a user."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.analytics import AnalyticsService, Period
from storage.ports import Store
from storage.sqlite import SqliteStore
from tests.analytics.events import at
from tests.analytics.test_metrics import containment_log


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.integration)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        opened: Store = SqliteStore(tmp_path / "events.db")
    else:
        from storage.redis import RedisStore

        opened = RedisStore(request.getfixturevalue("redis_url"))
    yield opened
    opened.close()


def test_summary_from_a_durable_store_and_erasure_of_a_user(store: Store) -> None:
    # Stores assign ids in append order; appending in time order keeps ties ordered as the services write them.
    store.append_events(containment_log().ordered())
    service = AnalyticsService(store, clock=lambda: at("2026-02-01 00:00"))
    day = Period(at("2026-01-05 00:00"), at("2026-01-06 00:00"))
    c = service.summary(day).totals.containment
    assert (c.confirmed, c.assumed, c.returned, c.handed_off, c.unanswered) == (1, 3, 2, 1, 2)
    store.delete_events(user_id="u3")  # the user whose return made c3 `returned`
    after = service.summary(day).totals
    assert after.conversations == 8
    assert (after.containment.returned, after.containment.assumed) == (1, 2)
