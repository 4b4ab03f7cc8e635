"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness: the process is up")
async def healthz() -> dict[str, str]:
    """Always 200 while the process serves HTTP."""
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness: model, index and store are loaded", response_model=None)
async def readyz(request: Request) -> JSONResponse:
    """200 when every component is ready, else 503 with what is missing."""
    runtime = request.app.state.runtime
    checks = runtime.readiness()
    ready = all(checks.values())
    body = {"status": "ready" if ready else "starting", "checks": checks}
    if runtime.startup_error:
        body["error"] = runtime.startup_error
    return JSONResponse(body, status_code=200 if ready else 503)
