"""Composition root: settings → adapters (built once in the lifespan) → routers; `python app.py` serves."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

from api import agents, analytics, channels, chat, handoff, health, kb, me, pages, privacy_admin
from api.errors import install_error_handlers
from api.limits import BodySizeLimit, ip_limit
from api.metrics import Metrics, install_metrics
from api.privacy import start_retention
from api.runtime import Overrides, Runtime, build_runtime, load_heavy
from assistant.logs import configure_logging
from assistant.settings import Settings, get_settings

log = logging.getLogger("assistant")

# How long uvicorn's supervisor waits for a worker to answer its health check before killing it as hung (uvicorn's
# default is 5 s). A worker answers from a thread it starts only after importing the app, which on a busy machine
# took longer than 5 s: workers were killed and restarted in a loop before ever serving (seen at load 15 on 2 cores).
WORKER_HEALTHCHECK_SECONDS = 60

# Native libraries that would fan one small call out to every core: FAISS's OpenMP and OpenBLAS, numpy's OpenBLAS.
NATIVE_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def limit_native_threads() -> int:
    """One thread per native numeric call unless the environment says otherwise; returns the limit applied.

    A turn's vector work is tiny (one query against a few thousand rows). Fanned out, the idle OpenMP and
    OpenBLAS threads busy-wait for the next call on the cores the other requests need: measured at 3x the
    server CPU per turn (116 vs 35 ms on the turn bench). Requests run in parallel instead. FAISS loads lazily
    and reads the variables when it does; `omp_set_num_threads` would only cover the thread that calls it.
    Libraries already loaded (numpy's OpenBLAS) are limited at run time.
    """
    for name in NATIVE_THREAD_VARIABLES:
        os.environ.setdefault(name, "1")
    limit = int(os.environ["OPENBLAS_NUM_THREADS"])
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=limit, user_api="blas")
    return limit


def create_app(
    settings: Settings | None = None,
    overrides: Overrides | None = None,
    *,
    processes: int = 1,
    freeze_heap: bool = False,
) -> FastAPI:
    """Build the FastAPI application; heavy resources load in the lifespan, once.

    `processes`: how many server processes share the store (the uvicorn workers); an app built in-process is one.
    `freeze_heap`: once loaded, exempt what was loaded from the cycle collector (see `freeze_loaded_heap`); the
    server process sets it, not a process that builds many apps in turn (tests), whose old apps it would keep.
    """
    settings = settings or get_settings()
    overrides = overrides or Overrides()
    limit_native_threads()  # before the lifespan loads FAISS
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = build_runtime(settings, overrides, processes=processes)
        metrics.attach(runtime)  # before the services are built, so they write events through the counters
        runtime.on_close.append(start_retention(runtime))  # privacy: the scheduled retention purge
        app.state.runtime = runtime
        # Load models and indexes off the event loop: /healthz answers at once, /readyz says when ready.
        loader = asyncio.create_task(asyncio.to_thread(_load, runtime, freeze_heap))
        runtime.components["loader"] = loader
        try:
            yield
        finally:
            if not loader.done():
                await asyncio.wait({loader}, timeout=30)
            runtime.close()

    app = FastAPI(
        title="Zhixing support assistant",
        version="0.1.0",
        summary="AI customer support for paid-knowledge platforms: FAQ retrieval, intents, dialogue, human handoff.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.add_middleware(
        BodySizeLimit, max_bytes=settings.max_body_bytes, overrides={"/v1/kb/": settings.max_upload_bytes}
    )
    app.include_router(health.router)
    app.include_router(chat.router)
    app.include_router(agents.router)
    app.include_router(handoff.router)
    app.include_router(handoff.candidates_router)
    app.include_router(analytics.router)
    app.include_router(kb.router)
    app.include_router(pages.router)
    # Channel callers (WeChat's servers, integrations) get their own, larger per-IP budget.
    channel_limit = ip_limit("channel", "rate_limit_webhook_ip_per_minute")
    app.include_router(channels.router, dependencies=[Depends(channel_limit)])
    app.include_router(channels.webhooks_router)
    app.include_router(me.router)
    app.include_router(privacy_admin.router)
    install_metrics(app, metrics, token=settings.metrics_token.get_secret_value())
    return app


def _load(runtime: Runtime, freeze_heap: bool) -> None:
    load_heavy(runtime)
    if freeze_heap:
        freeze_loaded_heap()


def freeze_loaded_heap() -> None:
    """Move every object alive now (model, indexes, intent model: about 320,000) out of the cycle collector's sight.

    A full collection walks them all, about 150 ms with every request of the process stalled, and comes about once
    per thousand turns as caches grow; after this it walks only what came later (7 ms measured). Objects still
    go away by reference counting; only cycles among them are never collected, and they were built to last.
    """
    gc.collect()  # what is garbage already is freed, not frozen
    gc.freeze()


def create_worker_app() -> FastAPI:
    """The app of one uvicorn worker process (`ASSISTANT_WORKERS` > 1): settings and logging from the environment."""
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    return create_app(settings, processes=settings.workers, freeze_heap=True)


def _prepare_or_exit() -> None:
    from assistant.prepare import main as prepare

    raise SystemExit(prepare())


def _prepare_content() -> None:
    """Build stale content once, before the workers start, rather than in every worker at the same time.

    In a child process, so the model and indexes it loads do not stay in the supervisor's memory.
    """
    import multiprocessing

    child = multiprocessing.get_context("spawn").Process(target=_prepare_or_exit, name="prepare")
    child.start()
    child.join()
    if child.exitcode != 0:
        raise SystemExit(f"preparing the content failed (exit code {child.exitcode})")


def main() -> None:
    """Serve with uvicorn on ASSISTANT_HOST:ASSISTANT_PORT, in ASSISTANT_WORKERS processes."""
    import uvicorn

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    if settings.workers == 1:
        uvicorn.run(create_app(settings, freeze_heap=True), host=settings.host, port=settings.port, log_config=None)
        return
    if settings.build_on_start:
        _prepare_content()
    uvicorn.run(
        "app:create_worker_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
        log_config=None,
    )


if __name__ == "__main__":
    main()
