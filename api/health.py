"""Liveness and readiness probes."""

from __future__ import annotations

import os

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness: the process is up")
async def healthz() -> dict[str, str]:
    """Always 200 while the process serves HTTP."""
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness: model, index and store are loaded", response_model=None)
async def readyz(request: Request) -> JSONResponse:
    """200 when every component of this worker is ready, else 503 with what is missing."""
    runtime = request.app.state.runtime
    checks = runtime.readiness()
    ready = all(checks.values())
    # The answering process: with several workers, each is ready on its own (a probe reaches any one of them).
    body = {"status": "ready" if ready else "starting", "checks": checks, "worker": os.getpid()}
    if runtime.startup_error:
        body["error"] = runtime.startup_error
    return JSONResponse(body, status_code=200 if ready else 503)
