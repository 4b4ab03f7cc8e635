"""Fixtures for the storage contract suite: one store per backend, reopenable like a restarted worker."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from storage.ports import Store
from storage.redis import RedisStore
from storage.sqlite import SqliteStore


@dataclass
class Backend:
    """Opens stores on one backend's data (a SQLite file or a Redis database) and closes them at teardown."""

    name: str
    factory: Callable[[], Store]
    opened: list[Store] = field(default_factory=list)

    def open(self) -> Store:
        """A new store (a new connection) on the same data, like another worker or a restart."""
        store = self.factory()
        self.opened.append(store)
        return store

    def close_all(self) -> None:
        for store in self.opened:
            with contextlib.suppress(Exception):  # some tests close their store themselves
                store.close()


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.integration)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """Each backend in turn: SQLite in a temporary file, Redis on the session's real redis-server."""
    if request.param == "sqlite":
        path = tmp_path / "store.db"
        backend = Backend("sqlite", lambda: SqliteStore(path))
    else:
        url: str = request.getfixturevalue("redis_url")
        backend = Backend("redis", lambda: RedisStore(url))
    yield backend
    backend.close_all()


@pytest.fixture
def store(backend: Backend) -> Store:
    """A store on a fresh backend."""
    return backend.open()
