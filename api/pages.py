"""Static pages: the demo page hosting the chat widget, the widget script, the agents' console."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, JSONResponse

from assistant.auth import issue_user_token
from assistant.errors import NotFound

STATIC = Path(__file__).resolve().parent.parent / "web" / "static"
router = APIRouter(include_in_schema=False)


def _page(name: str, media_type: str) -> FileResponse:
    return FileResponse(STATIC / name, media_type=media_type, headers={"Cache-Control": "no-cache"})


@router.get("/")
async def demo_page() -> FileResponse:
    """The demo platform page with the widget."""
    return _page("index.html", "text/html; charset=utf-8")


@router.get("/widget.js")
async def widget_js() -> FileResponse:
    """The embeddable chat widget."""
    return _page("widget.js", "application/javascript; charset=utf-8")


@router.get("/console")
async def console_page() -> FileResponse:
    """The agents' console."""
    return _page("console.html", "text/html; charset=utf-8")


@router.get("/console/{asset}")
async def console_asset(asset: str) -> FileResponse:
    """Scripts and styles of the console."""
    allowed = {
        "console.js": "application/javascript; charset=utf-8",
        "console.css": "text/css; charset=utf-8",
    }
    allowed |= {"chart.js": "application/javascript; charset=utf-8"}
    if asset not in allowed or not (STATIC / asset).exists():
        raise NotFound("no such asset")
    return _page(asset, allowed[asset])


@router.get("/demo/token")
async def demo_token(request: Request, tier: Literal["free", "member", "vip"] = Query("free")) -> JSONResponse:
    """Dev mode only: mint a demo user JWT, as the platform's backend would."""
    settings = request.app.state.runtime.settings
    if settings.env != "dev":
        raise NotFound("not available")
    names = {"free": "体验用户", "member": "会员用户", "vip": "VIP学员"}
    token = issue_user_token(
        f"demo-{tier}", settings.user_token_secret.get_secret_value(), tier=tier, name=names[tier], ttl=86400
    )
    return JSONResponse({"token": token})
