"""The runtime container: every adapter and service, built once at start-up and shared by all requests."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from assistant.embedding import Embedder
from assistant.settings import Settings
from storage.ports import EventBus, Store

log = logging.getLogger(__name__)
KB_FOLLOW_SECONDS = 2.0  # how soon the other workers serve a snapshot one worker published


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
    processes: int = 1  # server processes sharing the store
    components: dict[str, Any] = field(default_factory=dict)
    started_at: float = field(default_factory=time.time)
    startup_error: str | None = None
    on_close: list[Callable[[], None]] = field(default_factory=list)  # e.g. the channels' webhook worker
    _ready: dict[str, bool] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def readiness(self) -> dict[str, bool]:
        """Which components are ready."""
        checks = {"store": _ping(self.store)}
        with self._lock:
            checks.update(self._ready)
        return checks

    def close(self) -> None:
        """Stop background components, then release the store."""
        for closer in reversed(self.on_close):
            try:
                closer()
            except Exception:
                log.warning("a component failed to close", exc_info=True)
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


def build_runtime(settings: Settings, overrides: Overrides, *, processes: int = 1) -> Runtime:
    """Open the store and the event bus (fast); heavy components come later in `load_heavy`.

    `processes`: how many server processes share the store, so live events and KB versions must cross them.
    """
    from storage.factory import open_bus, open_store

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = overrides.store or open_store(settings.resolved_store_url, sqlite_synchronous=settings.sqlite_synchronous)
    bus = overrides.bus or open_bus(settings.resolved_store_url, workers=processes)
    from assistant.ratelimit import RateLimiter

    runtime = Runtime(settings=settings, store=store, bus=bus, embedder=overrides.embedder, processes=processes)
    closer = getattr(bus, "close", None)
    if overrides.bus is None and closer is not None:
        runtime.on_close.append(closer)  # registered first, so it closes after everything that publishes
    runtime.components["limiter_ip"] = RateLimiter(store)
    if overrides.engine is not None:
        runtime.components["engine"] = overrides.engine
    for name in ("model", "index", "intents", "services"):
        runtime.mark(name, False)
    from channels.wiring import install_channels

    # Channels: WeChat, inbound/outbound webhooks, delivery of advisors' replies; starts the webhook worker.
    runtime.on_close.append(install_channels(runtime))
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
            from assistant.embedding import BatchingEmbedder, CachingEmbedder
            from assistant.st_embedder import load_embedder

            inner = load_embedder(
                settings.embedding_model,
                settings.embedding_backend,
                cache_dir=settings.model_cache_dir,
                threads=settings.embedding_threads,
                gloss_words=settings.embedding_gloss_words,
                lanes=settings.embedding_lanes,
            )
            warm_up = getattr(inner, "warm_up", None)
            if warm_up is not None:
                warm_up()
            # Concurrent turns share one model call (micro-batching); repeated texts cost nothing.
            batching = BatchingEmbedder(inner)
            runtime.on_close.append(batching.close)
            runtime.embedder = CachingEmbedder(batching)
        runtime.mark("model", True)
        from assistant.content import ContentManager

        content = ContentManager(settings, runtime.embedder)
        content.prepare()
        runtime.components["content"] = content
        runtime.components["kb"] = content.kb
        runtime.components["engine"] = content.engine(
            use_context=settings.dialogue_context, answer_writer=_answer_writer(settings)
        )
        _rehearse(content, runtime.components["engine"])
        runtime.components["suggest"] = content.suggest
        runtime.components["kb_publish"] = content.publish
        if runtime.processes > 1:
            runtime.on_close.append(follow_published_kb(content))
        runtime.mark("index", True)
        runtime.mark("intents", True)
        runtime.components["services"] = _build_services(runtime)
        runtime.mark("services", True)
        log.info("assistant ready", extra={"seconds": round(time.time() - runtime.started_at, 2)})
    except Exception as exc:
        runtime.startup_error = f"{type(exc).__name__}: {exc}"
        log.exception("start-up failed")


def _rehearse(content: Any, engine: Any) -> None:
    """Search and classify a few throwaway texts, so what loads on first use (the jieba dictionary, pinyin tables)
    loads before the server reports ready rather than during a user's first turn (about a second of CPU); and
    have the engine read every entry's intent, which it would otherwise do in the first turn each entry shows up
    in as a weak hit (a model call there, about 0.4 s of CPU for the ~100 entries at once here).

    Not a whole dialogue turn: with an LLM configured, that would call it at every start."""
    texts = ["课程怎么退款", "How do I get an invoice?"]
    for text in texts:
        content.kb.search(text)
    content.intents.predict(texts)
    from assistant.dialogue.context import names_only_actions

    names_only_actions(texts[0])  # reads jieba's verb list (about 0.2 s)
    engine.warm_up([entry.id for entry in content.snapshots.current.entries])


def follow_published_kb(content: Any, interval_seconds: float = KB_FOLLOW_SECONDS) -> Callable[[], None]:
    """Swap in the snapshot another worker published (or rolled back to); returns the function that stops it.

    Publishing, reloading and rolling back move the pointer file of the snapshot root, which every worker shares;
    each worker checks it every `interval_seconds` and loads a version it is not serving yet.
    """
    stop = threading.Event()

    def follow() -> None:
        while not stop.wait(interval_seconds):
            try:
                if content.snapshots.latest() != content.kb.version:
                    content.reload()
                    log.info("knowledge base reloaded from another worker", extra={"version": content.kb.version})
            except Exception:  # a half-written snapshot or a transient IO error: try again next time
                log.warning("could not follow the published knowledge base", exc_info=True)

    thread = threading.Thread(target=follow, name="kb-follower", daemon=True)
    thread.start()

    def close() -> None:
        stop.set()
        thread.join(timeout=5)

    return close


def _build_services(runtime: Runtime) -> Any:
    from api.services import build_services

    return build_services(runtime)


def _answer_writer(settings: Settings) -> Any:
    """The LLM answer writer when an endpoint is configured, else None (curated answers)."""
    if not settings.llm_base_url:
        return None
    from assistant.dialogue.langchain_writer import LangChainAnswerWriter, build_chat_model
    from assistant.redaction import redact

    model = build_chat_model(
        settings.llm_base_url,
        settings.llm_api_key.get_secret_value(),
        settings.llm_model,
        settings.llm_timeout_seconds,
    )
    return LangChainAnswerWriter(model, redact=redact)
