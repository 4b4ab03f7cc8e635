"""Durable state behind small ports: SQLite or Redis stores, in-process or Redis pub/sub event buses.

The ports are imported eagerly (the core needs them for types); adapters load on first use, so importing
`storage.ports` never pulls in the Redis client.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from storage.ports import (
    JSON,
    DocumentStore,
    EventBus,
    EventLog,
    KeyStore,
    MessageLog,
    Store,
    StoredEvent,
    StoredMessage,
)

if TYPE_CHECKING:
    from storage.bus import InMemoryEventBus, RedisEventBus
    from storage.factory import open_bus, open_store
    from storage.redis import RedisStore
    from storage.sqlite import SqliteStore

_ADAPTERS = {
    "InMemoryEventBus": "storage.bus",
    "RedisEventBus": "storage.bus",
    "RedisStore": "storage.redis",
    "SqliteStore": "storage.sqlite",
    "open_bus": "storage.factory",
    "open_store": "storage.factory",
}

__all__ = [
    "JSON",
    "DocumentStore",
    "EventBus",
    "EventLog",
    "InMemoryEventBus",
    "KeyStore",
    "MessageLog",
    "RedisEventBus",
    "RedisStore",
    "SqliteStore",
    "Store",
    "StoredEvent",
    "StoredMessage",
    "open_bus",
    "open_store",
]


def __getattr__(name: str) -> object:
    """Load an adapter on first access (PEP 562)."""
    module = _ADAPTERS.get(name)
    if module is None:
        raise AttributeError(f"module 'storage' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
