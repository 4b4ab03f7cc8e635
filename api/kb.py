"""Knowledge-base administration: status, search, reload, rollback, rebuild and source upload (admins)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool

from api.agents import AdminAgent, CurrentAgent
from assistant.content import ContentManager
from assistant.errors import InvalidInput, Unavailable

router = APIRouter(prefix="/v1/kb", tags=["knowledge base"])
_UPLOAD_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,80}\.(csv|jsonl|md)$")


def _content(request: Request) -> ContentManager:
    content = request.app.state.runtime.components.get("content")
    if content is None:
        raise Unavailable("the knowledge base is not loaded yet")
    return content  # type: ignore[no-any-return]


def _status(content: ContentManager) -> dict[str, Any]:
    kb = content.snapshots.current
    manifest = kb.manifest
    return {
        "version": kb.version,
        "versions": content.snapshots.versions(),
        "entries": manifest.entry_count,
        "model": manifest.model,
        "dimension": manifest.dimension,
        "source_checksum": manifest.source_checksum,
        "created_at": manifest.created_at,
        "sources": [str(p) for p in content.kb_sources()],
    }


@router.get("/status", summary="The snapshot in use and the ones kept for rollback")
async def kb_status(request: Request, agent: CurrentAgent) -> dict[str, Any]:
    """Version, entry count, embedding model and sources of the live knowledge base."""
    return _status(_content(request))


@router.get("/search", summary="Search the knowledge base as the bot does")
async def kb_search(
    request: Request,
    agent: CurrentAgent,
    q: Annotated[str, Query(min_length=1, max_length=500)],
    top_k: Annotated[int, Query(ge=1, le=20)] = 5,
) -> dict[str, Any]:
    """Hits with calibrated scores and the answerable decision."""
    content = _content(request)
    result = await run_in_threadpool(content.kb.search, q, top_k=top_k)
    return {
        "query": result.query,
        "answerable": result.answerable,
        "threshold": result.threshold,
        "hits": [{"id": h.id, "score": round(h.score, 4), "question": h.question} for h in result.hits],
    }


@router.post("/reload", summary="Swap in the newest published snapshot (admin)")
async def kb_reload(request: Request, agent: AdminAgent) -> dict[str, Any]:
    """Atomic: searches in flight finish on the old snapshot."""
    content = _content(request)
    await run_in_threadpool(content.reload)
    return _status(content)


@router.post("/rollback", summary="Go back to the previous snapshot (admin)")
async def kb_rollback(request: Request, agent: AdminAgent) -> dict[str, Any]:
    """Publish and load the snapshot before the current one."""
    content = _content(request)
    await run_in_threadpool(content.rollback)
    return _status(content)


@router.post("/rebuild", summary="Re-import the sources and build a new snapshot (admin)")
async def kb_rebuild(request: Request, agent: AdminAgent) -> dict[str, Any]:
    """Build from the configured sources and hot-swap it in."""
    content = _content(request)
    await run_in_threadpool(content.rebuild_kb)
    return _status(content)


@router.put("/sources/{filename}", summary="Upload an FAQ file into the overlay and rebuild (admin)")
async def kb_upload(filename: str, request: Request, agent: AdminAgent) -> dict[str, Any]:
    """The body is a CSV, JSONL or Markdown FAQ file; it is validated before anything changes."""
    if not _UPLOAD_NAME.match(filename):
        raise InvalidInput("file name must end in .csv, .jsonl or .md and use letters, digits, '-', '_' or '.'")
    body = await request.body()
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{filename} is not valid UTF-8 (byte {exc.start})") from exc
    content = _content(request)
    await run_in_threadpool(_store_upload, content, filename, body)
    return _status(content)


def _store_upload(content: ContentManager, filename: str, body: bytes) -> None:
    from knowledge_base.sources import load_faq

    staging = content.overlay_dir / ".staging"
    staging.mkdir(parents=True, exist_ok=True)
    candidate = staging / filename
    candidate.write_bytes(body)
    try:
        # Validate the new file together with the current sources (duplicate ids are errors too).
        load_faq([*content.kb_sources(), candidate])
    except Exception:
        candidate.unlink(missing_ok=True)
        raise
    target: Path = content.overlay_dir / filename
    candidate.replace(target)
    content.rebuild_kb()
