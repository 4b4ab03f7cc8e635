"""Build the configured store and event bus from a URL (sqlite:///path.db or redis://host:port/db)."""

from __future__ import annotations

from pathlib import Path

from assistant.errors import ConfigError
from storage.bus import InMemoryEventBus, RedisEventBus
from storage.ports import EventBus, Store
from storage.sqlite import SqliteStore

_SQLITE = "sqlite:///"
_REDIS = ("redis://", "rediss://")


def sqlite_path(url: str) -> str:
    """The file path of a `sqlite:///` URL (four slashes for an absolute path), or `:memory:`."""
    path = url.removeprefix(_SQLITE)
    if not url.startswith(_SQLITE) or not path:
        raise ConfigError(f"not a SQLite URL (want sqlite:///relative.db or sqlite:////absolute.db): {url!r}")
    return path


def open_store(url: str, *, sqlite_synchronous: str = "FULL") -> Store:
    """The store for a URL: SqliteStore for sqlite:///…, RedisStore for redis://…."""
    if url.startswith(_SQLITE):
        path = sqlite_path(url)
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        return SqliteStore(path, synchronous=sqlite_synchronous)
    if url.startswith(_REDIS):
        from storage.redis import RedisStore  # only Redis deployments load the Redis client

        return RedisStore(url)
    raise ConfigError(
        f"unsupported store URL {url!r}: use sqlite:///path.db, sqlite:///:memory: or redis://host:port/db"
    )


def open_bus(url: str, *, workers: int = 1) -> EventBus:
    """The event bus that matches a store URL: Redis pub/sub for Redis; for SQLite in-process with one worker,
    else a relay through a side file that every worker process polls."""
    if url.startswith(_SQLITE):
        path = sqlite_path(url)  # same validation as open_store, so a bad URL fails at start-up either way
        if workers > 1 and path != ":memory:":
            from storage.sqlite_bus import SqliteEventBus, bus_path

            return SqliteEventBus(bus_path(path))
        return InMemoryEventBus()
    if url.startswith(_REDIS):
        return RedisEventBus(url)
    raise ConfigError(
        f"unsupported store URL {url!r}: use sqlite:///path.db, sqlite:///:memory: or redis://host:port/db"
    )
