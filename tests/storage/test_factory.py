"""open_store / open_bus pick the backend from a URL and reject anything else clearly."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.errors import ConfigError
from storage.bus import InMemoryEventBus, RedisEventBus
from storage.factory import open_bus, open_store
from storage.redis import RedisStore
from storage.sqlite import SqliteStore


def test_sqlite_memory_url() -> None:
    store = open_store("sqlite:///:memory:")
    store.put("faq", "f1", {"q": "发票"})

    assert isinstance(store, SqliteStore)
    assert store.get("faq", "f1") == {"q": "发票"}
    store.close()


def test_sqlite_absolute_url_creates_the_parent_directory(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "dir" / "state.db"
    store = open_store(f"sqlite:///{path}")  # tmp_path is absolute, hence four slashes
    store.put("faq", "f1", {"q": "x"})
    store.close()

    assert path.is_file()


def test_sqlite_relative_url_is_relative_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    store = open_store("sqlite:///data/state.db", sqlite_synchronous="NORMAL")
    store.close()

    assert (tmp_path / "data" / "state.db").is_file()


@pytest.mark.parametrize(
    "url", ["", "postgres://localhost/db", "sqlite://state.db", "sqlite:///", "memory://", "redis:/x"]
)
def test_unsupported_urls_are_config_errors(url: str) -> None:
    with pytest.raises(ConfigError):
        open_store(url)
    with pytest.raises(ConfigError):
        open_bus(url)


def test_bad_synchronous_mode_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="synchronous"):
        open_store("sqlite:///:memory:", sqlite_synchronous="sometimes")


def test_sqlite_url_gets_the_in_process_bus() -> None:
    assert isinstance(open_bus("sqlite:///:memory:"), InMemoryEventBus)


@pytest.mark.integration
def test_redis_url_gets_redis_store_and_bus(redis_url: str) -> None:
    store = open_store(redis_url)
    bus = open_bus(redis_url)

    assert isinstance(store, RedisStore)
    assert store.ping() is True
    assert isinstance(bus, RedisEventBus)
    store.close()
    bus.close()
