"""Prometheus metrics at `GET /metrics`: request latency per route template, turns by action, handoffs by reason,
the advisors' queue (computed at scrape time) and the knowledge-base snapshot version.

Each app gets its own registry (tests build many apps in one process). Turn and handoff counters are fed by a thin
wrapper around the store's `append_events`, so they count exactly what the analytics event log records, at the
cost of one dictionary lookup per event on the hot path.
"""

from __future__ import annotations

import hmac
import logging
import os
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, cast

from fastapi import APIRouter, FastAPI, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily, Metric
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistant import events as ev
from assistant.embedding import embedding_stats
from assistant.errors import Unauthorized
from storage.ports import Store, StoredEvent

log = logging.getLogger(__name__)
UNMATCHED = "<unmatched>"  # raw paths of unknown routes would make one series per scanner probe
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
TIERS = ("vip", "member", "free")
router = APIRouter(include_in_schema=False)


class Metrics:
    """The app's registry and the series the middleware, the event tap and the scrape-time collector update."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.runtime: Any = None
        self.latency = Histogram(
            "assistant_http_request_duration_seconds",
            "HTTP request latency by route template.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.requests = Counter(
            "assistant_http_requests", "HTTP requests by route template and status.", ["method", "route", "status"],
            registry=self.registry,
        )  # fmt: skip
        self.turns = Counter("assistant_turns", "User turns by the bot's action.", ["action"], registry=self.registry)
        self.handoffs = Counter(
            "assistant_handoffs", "Tickets opened for advisors, by reason.", ["reason"], registry=self.registry
        )
        self.registry.register(_ScrapeTimeCollector(self))
        # CPU seconds and memory of this process: with several workers, each scrape reports the worker that answered.
        ProcessCollector(registry=self.registry)

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        """Record one finished HTTP request."""
        self.latency.labels(method, route).observe(seconds)
        self.requests.labels(method, route, str(status)).inc()

    def observe_events(self, events: Sequence[StoredEvent]) -> None:
        """Count the turns and handoffs among freshly stored events."""
        for event in events:
            if event.type == ev.TURN:
                self.turns.labels(str(event.data.get("action") or "unknown")).inc()
            elif event.type == ev.HANDOFF:
                self.handoffs.labels(str(event.data.get("reason") or "unknown")).inc()

    def attach(self, runtime: Any) -> None:
        """Watch a runtime: its store's events feed the counters, its tickets and KB the scrape-time gauges."""
        self.runtime = runtime
        if not isinstance(runtime.store, MeteredStore):
            runtime.store = cast(Store, MeteredStore(runtime.store, self.observe_events))

    def exposition(self) -> bytes:
        """The text exposition format of every series."""
        return bytes(generate_latest(self.registry))


class MeteredStore:
    """A Store that reports every appended event batch to a callback after the durable write."""

    def __init__(self, inner: Store, on_events: Callable[[Sequence[StoredEvent]], None]) -> None:
        self._inner = inner
        self._on_events = on_events

    def append_events(self, events: Sequence[StoredEvent]) -> None:
        """Store the events, then count them (a failing counter never fails the write)."""
        self._inner.append_events(events)
        try:
            self._on_events(events)
        except Exception:  # pragma: no cover - counters must not break the chat
            log.warning("could not count events for /metrics", exc_info=True)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def kb_version(components: dict[str, Any]) -> str | None:
    """The knowledge-base snapshot version in use, if any component tells it."""
    value = components.get("kb_version")
    if callable(value):
        value = value()
    if isinstance(value, str) and value:
        return value
    for key in ("kb", "knowledge_base", "knowledge"):
        version = getattr(components.get(key), "version", None)
        if isinstance(version, str) and version:
            return version
    snapshots = components.get("snapshots")
    latest = getattr(snapshots, "latest", None)
    found = latest() if callable(latest) else None
    return found if isinstance(found, str) and found else None


class _ScrapeTimeCollector:
    """Gauges read when Prometheus scrapes: the advisors' queue and the KB snapshot version."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[Metric]:
        runtime = self._metrics.runtime
        if runtime is None:
            return
        yield from self._queue(runtime)
        try:
            version = kb_version(runtime.components)
        except Exception:
            log.warning("could not read the KB version for /metrics", exc_info=True)
            version = None
        if version is not None:
            yield InfoMetricFamily("assistant_kb_snapshot", "Knowledge-base snapshot in use.", {"version": version})
        yield InfoMetricFamily(
            "assistant_worker", "The server process that answered this scrape.", {"pid": str(os.getpid())}
        )
        if runtime.embedder is not None:
            yield from _embedding(embedding_stats(runtime.embedder))

    @staticmethod
    def _queue(runtime: Any) -> Iterator[Metric]:
        from handoff.wiring import handoff_service

        length = GaugeMetricFamily("assistant_handoff_queue_length", "Tickets waiting for an advisor.", labels=["tier"])
        oldest = GaugeMetricFamily(
            "assistant_handoff_oldest_wait_seconds", "How long the oldest waiting ticket has waited.", labels=["tier"]
        )
        try:
            # the index entries carry tier, status and creation time: no ticket (with its packet) is read
            waiting = [e for e in handoff_service(runtime).tickets.open_entries() if e.status == "waiting"]
        except Exception:
            log.warning("could not read the queue for /metrics", exc_info=True)
            return
        now = time.time()
        for tier in sorted({*TIERS, *(t.tier for t in waiting)}):
            mine = [t for t in waiting if t.tier == tier]
            length.add_metric([tier], len(mine))
            oldest.add_metric([tier], max((now - t.created_at for t in mine), default=0.0))
        yield length
        yield oldest


def _embedding(stats: dict[str, int]) -> Iterator[Metric]:
    lookups = CounterMetricFamily(
        "assistant_embedding_cache_lookups", "Texts looked up in the embedding cache, by result.", labels=["result"]
    )
    lookups.add_metric(["hit"], stats["cache_hits"])
    lookups.add_metric(["miss"], stats["cache_misses"])
    yield lookups
    yield CounterMetricFamily(
        "assistant_embedding_batches", "Embedding model calls (concurrent turns share one).", value=stats["batches"]
    )
    yield CounterMetricFamily(
        "assistant_embedding_batched_texts", "Texts embedded by those model calls.", value=stats["batched_texts"]
    )


class PrometheusMiddleware:
    """Times every HTTP request and labels it with its route template (`/v1/conversations/{conversation_id}`)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            # The router records the matched route in the (shared) scope; unknown paths have none.
            route = getattr(scope.get("route"), "path", None) or UNMATCHED
            self.metrics.observe_request(scope["method"], route, status, time.perf_counter() - began)


def check_scrape_token(expected: str, authorization: str | None) -> None:
    """Unauthorized unless `authorization` is `Bearer <expected>`; an empty `expected` leaves /metrics open."""
    if not expected:
        return
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        raise Unauthorized("/metrics requires `Authorization: Bearer <ASSISTANT_METRICS_TOKEN>`")
    if not hmac.compare_digest(given.strip().encode(), expected.encode()):
        raise Unauthorized("the metrics token is not valid")


@router.get("/metrics")
def metrics_endpoint(request: Request) -> Response:
    """Prometheus text exposition (behind the scrape token when one is set)."""
    check_scrape_token(request.app.state.metrics_token, request.headers.get("authorization"))
    metrics: Metrics = request.app.state.metrics
    return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)


def install_metrics(app: FastAPI, metrics: Metrics | None = None, *, token: str = "") -> Metrics:
    """Add the middleware and `GET /metrics` (requiring `token` as a bearer token if set) to an app.

    Call `attach(runtime)` once the runtime exists.
    """
    metrics = metrics or Metrics()
    app.state.metrics = metrics
    app.state.metrics_token = token
    app.add_middleware(PrometheusMiddleware, metrics=metrics)
    app.include_router(router)
    return metrics
