"""The runtime container: every adapter and service, built once at start-up and shared by all requests."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from assistant.embedding import Embedder
from assistant.settings import Settings
from storage.ports import EventBus, Store

log = logging.getLogger(__name__)


@dataclass
class Overrides:
    """Components a test (or an embedding application) supplies instead of the configured ones."""

    embedder: Embedder | None = None
    store: Store | None = None
    bus: EventBus | None = None
    engine: Any = None  # a ready DialogueEngine: skips loading the model, index and intents (API tests)


@dataclass
class Runtime:
    """Holds the adapters; heavy ones load in `load_heavy()` off the event loop."""

    settings: Settings
    store: Store
    bus: EventBus
    embedder: Embedder | None = None
    components: dict[str, Any] = field(default_factory=dict)
    started_at: float = field(default_factory=time.time)
    startup_error: str | None = None
    _ready: dict[str, bool] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def readiness(self) -> dict[str, bool]:
        """Which components are ready."""
        checks = {"store": _ping(self.store)}
        with self._lock:
            checks.update(self._ready)
        return checks

    def close(self) -> None:
        """Release the store."""
        self.store.close()

    def mark(self, name: str, ready: bool) -> None:
        """Record a component's readiness."""
        with self._lock:
            self._ready[name] = ready


def _ping(store: Store) -> bool:
    try:
        return store.ping()
    except Exception:  # a store that cannot answer is simply not ready
        return False


def build_runtime(settings: Settings, overrides: Overrides) -> Runtime:
    """Open the store and the event bus (fast); heavy components come later in `load_heavy`."""
    from storage.factory import open_bus, open_store

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = overrides.store or open_store(settings.resolved_store_url, sqlite_synchronous=settings.sqlite_synchronous)
    bus = overrides.bus or open_bus(settings.resolved_store_url)
    from assistant.ratelimit import RateLimiter

    runtime = Runtime(settings=settings, store=store, bus=bus, embedder=overrides.embedder)
    runtime.components["limiter_ip"] = RateLimiter(store)
    if overrides.engine is not None:
        runtime.components["engine"] = overrides.engine
    for name in ("model", "index", "intents", "services"):
        runtime.mark(name, False)
    return runtime


def load_heavy(runtime: Runtime) -> None:
    """Load (building when missing or stale) the embedder, knowledge base, intent model and engine."""
    settings = runtime.settings
    try:
        if runtime.components.get("engine") is not None:
            for name in ("model", "index", "intents"):
                runtime.mark(name, True)
            runtime.components["services"] = _build_services(runtime)
            runtime.mark("services", True)
            return
        if runtime.embedder is None:
            from assistant.embedding import CachingEmbedder
            from assistant.st_embedder import load_embedder

            inner = load_embedder(
                settings.embedding_model, settings.embedding_backend, cache_dir=settings.model_cache_dir
            )
            warm_up = getattr(inner, "warm_up", None)
            if warm_up is not None:
                warm_up()
            runtime.embedder = CachingEmbedder(inner)
        runtime.mark("model", True)
        from assistant.bootstrap import prepare_content

        content = prepare_content(settings, runtime.embedder, progress=False)
        runtime.components.update(content.as_components())
        runtime.mark("index", True)
        runtime.mark("intents", True)
        runtime.components["services"] = _build_services(runtime)
        runtime.mark("services", True)
        log.info("assistant ready", extra={"seconds": round(time.time() - runtime.started_at, 2)})
    except Exception as exc:
        runtime.startup_error = f"{type(exc).__name__}: {exc}"
        log.exception("start-up failed")


def _build_services(runtime: Runtime) -> Any:
    from api.services import build_services

    return build_services(runtime)
