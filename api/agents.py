"""Agent accounts over HTTP: login, the bearer dependencies (`CurrentAgent`, `AdminAgent`), the live WebSocket."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

import anyio
from fastapi import APIRouter, Depends, Query, Request, WebSocket, WebSocketDisconnect
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field

from assistant.auth import AgentIdentity, decode_agent_token, issue_agent_token
from assistant.errors import AssistantError, Forbidden, RateLimited, Unauthorized
from assistant.live import AGENTS_TOPIC
from handoff.service import HandoffService
from handoff.wiring import handoff_service

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/agents", tags=["agents"])
_bearer = HTTPBearer(auto_error=False, description="Agent token from `POST /v1/agents/login`.")
LOGIN_ATTEMPTS = 10
LOGIN_WINDOW_SECONDS = 300.0
WS_IDLE_SECONDS = 25.0
WS_UNAUTHORIZED = 4401


def service_of(request: Request) -> HandoffService:
    """The handoff service of the app's runtime."""
    return handoff_service(request.app.state.runtime)


Service = Annotated[HandoffService, Depends(service_of)]


def _secret(runtime: Any) -> str:
    return str(runtime.settings.secret_key.get_secret_value())


def current_agent(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> AgentIdentity:
    """The agent behind the bearer token (401 without a valid token or for a disabled account)."""
    if credentials is None:
        raise Unauthorized("agent login required")
    runtime = request.app.state.runtime
    identity = decode_agent_token(credentials.credentials, _secret(runtime))
    handoff_service(runtime).agents.require_active(identity)
    return identity


def admin_agent(agent: Annotated[AgentIdentity, Depends(current_agent)]) -> AgentIdentity:
    """The current agent, who must be an administrator (403 otherwise)."""
    if not agent.is_admin:
        raise Forbidden("administrators only")
    return agent


CurrentAgent = Annotated[AgentIdentity, Depends(current_agent)]
AdminAgent = Annotated[AgentIdentity, Depends(admin_agent)]


class Login(BaseModel):
    """Credentials of a console account."""

    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class NewAgent(BaseModel):
    """A console account to create."""

    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=2, max_length=32)
    password: str = Field(min_length=8, max_length=256)
    role: Literal["agent", "admin"] = "agent"
    display_name: str = Field("", max_length=32)


@router.post("/login", summary="Log in and get a bearer token")
def login(body: Login, request: Request, service: Service) -> dict[str, Any]:
    """Verify the password; 401 on wrong credentials, 429 after too many attempts."""
    runtime = request.app.state.runtime
    client = request.client.host if request.client else "unknown"
    key = f"agent-login:{client}:{body.username.strip().lower()}"
    if runtime.store.hit(key, LOGIN_WINDOW_SECONDS) > LOGIN_ATTEMPTS:
        raise RateLimited("too many login attempts; try again later", retry_after=LOGIN_WINDOW_SECONDS)
    account = service.agents.authenticate(body.username, body.password)
    ttl = runtime.settings.agent_token_ttl_hours * 3600
    token = issue_agent_token(account.identity, _secret(runtime), ttl)
    return {
        "token": token,
        "role": account.role,
        "username": account.username,
        "display_name": account.name,
        "expires_in": int(ttl),
    }


@router.get("/me", summary="The logged-in agent")
def me(agent: CurrentAgent, service: Service) -> dict[str, Any]:
    """The account behind the token."""
    return service.agents.require(agent.username).public()


@router.get("", summary="Console accounts (for transfers)")
def list_agents(agent: CurrentAgent, service: Service) -> dict[str, Any]:
    """Every account without password hashes."""
    return {"agents": [a.public() for a in service.agents.accounts()]}


@router.post("", status_code=201, summary="Create a console account (admin)")
def create_agent(body: NewAgent, admin: AdminAgent, service: Service) -> dict[str, Any]:
    """A new agent or admin; 409 if the username is taken."""
    account = service.agents.create(body.username, body.password, role=body.role, display_name=body.display_name)
    return account.public()


async def _pump(websocket: WebSocket, events: AsyncIterator[dict[str, Any]]) -> None:
    async for event in events:
        await websocket.send_json(event)


async def _watch(websocket: WebSocket, scope: anyio.CancelScope) -> None:
    while (await websocket.receive())["type"] != "websocket.disconnect":
        pass  # consoles send nothing we need; reading is how a disconnect is noticed
    scope.cancel()


async def _keep_alive(websocket: WebSocket, token: str, secret: str, scope: anyio.CancelScope) -> None:
    while True:  # keep proxies from dropping an idle socket, and end sessions whose token expired
        await anyio.sleep(WS_IDLE_SECONDS)
        try:
            decode_agent_token(token, secret)
        except AssistantError:
            await websocket.close(code=WS_UNAUTHORIZED)
            scope.cancel()
            return
        await websocket.send_json({"type": "ping"})


@router.websocket("/ws")
async def agents_ws(websocket: WebSocket, token: Annotated[str, Query()] = "") -> None:
    """Live ticket and conversation events for consoles; the first frame is `hello` with the queue."""
    runtime = websocket.app.state.runtime
    service = handoff_service(runtime)
    secret = _secret(runtime)
    await websocket.accept()
    try:
        identity = decode_agent_token(token, secret)
        await anyio.to_thread.run_sync(service.agents.require_active, identity)
    except AssistantError as exc:
        await websocket.send_json({"type": "error", "error": {"code": exc.code, "message": exc.message}})
        await websocket.close(code=WS_UNAUTHORIZED)
        return
    events: AsyncIterator[dict[str, Any]] = runtime.bus.subscribe(AGENTS_TOPIC)
    try:
        async with anyio.create_task_group() as group:
            group.start_soon(_pump, websocket, events)
            await anyio.sleep(0)  # let the subscription register before the snapshot is read
            queue = await anyio.to_thread.run_sync(service.list_tickets, "waiting")
            agent = {"username": identity.username, "role": identity.role}
            await websocket.send_json({"type": "hello", "agent": agent, "queue": queue})
            group.start_soon(_watch, websocket, group.cancel_scope)
            group.start_soon(_keep_alive, websocket, token, secret, group.cancel_scope)
    except* (WebSocketDisconnect, OSError):
        pass  # the console went away
    except* Exception:  # a failing bus or socket ends this session; the console reconnects and re-reads
        log.warning("agents websocket ended with an error", exc_info=True)
    finally:
        aclose = getattr(events, "aclose", None)
        if aclose is not None:
            with anyio.CancelScope(shield=True), contextlib.suppress(Exception):
                await aclose()
