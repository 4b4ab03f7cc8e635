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


@router.get("/console/analytics")
async def analytics_page() -> FileResponse:
    """The admins' analytics page (charts and knowledge gaps)."""
    return _page("analytics.html", "text/html; charset=utf-8")


_JS = "application/javascript; charset=utf-8"
_CSS = "text/css; charset=utf-8"
# URL name -> (file under web/static, media type); nothing outside this list is served.
CONSOLE_ASSETS: dict[str, tuple[str, str]] = {
    "console-common.js": ("console-common.js", _JS),  # login and session, shared with the analytics page
    "console.js": ("console.js", _JS),
    "console.css": ("console.css", _CSS),
    "analytics.js": ("analytics.js", _JS),
    "analytics.css": ("analytics.css", _CSS),
    "chart.js": ("vendor/chart.umd.min.js", _JS),  # Chart.js 4 (MIT), see vendor/chart.js.LICENSE.md
}


@router.get("/console/{asset}")
async def console_asset(asset: str) -> FileResponse:
    """Scripts and styles of the console."""
    if asset not in CONSOLE_ASSETS or not (STATIC / CONSOLE_ASSETS[asset][0]).exists():
        raise NotFound("no such asset")
    path, media_type = CONSOLE_ASSETS[asset]
    return _page(path, media_type)


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
