"""The chat API: start a conversation, send turns, read the transcript, follow it live over a WebSocket."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request, Response, WebSocket, WebSocketDisconnect
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.schemas import (
    ConversationCreated,
    Csat,
    Feedback,
    StartConversation,
    Transcript,
    TurnResponse,
    UserMessage,
)
from api.services import Services, get_services, services_of
from api.turns import encode_turn
from assistant.auth import (
    anonymous_user,
    check_conversation_token,
    decode_user_token,
    issue_conversation_token,
)
from assistant.conversations import Conversation, message_to_json
from assistant.errors import AssistantError, Forbidden, NotFound, Unauthorized
from assistant.live import conversation_topic

router = APIRouter(prefix="/v1/conversations", tags=["chat"])
_bearer = HTTPBearer(
    auto_error=False,
    description="A user JWT (platform-issued) or the conversation token from `POST /v1/conversations`.",
)
Bearer = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
ServicesDep = Annotated[Services, Depends(get_services)]


def _secrets(request_state: Any) -> tuple[str, str]:
    settings = request_state.runtime.settings
    return settings.user_token_secret.get_secret_value(), settings.secret_key.get_secret_value()


def authorize_conversation(state: Any, services: Services, conversation_id: str, token: str | None) -> Conversation:
    """The conversation, if `token` is its conversation token or its owner's user JWT (else 401/403/404)."""
    if not token:
        raise Unauthorized("a conversation token is required")
    user_secret, server_secret = _secrets(state)
    conv = services.chat.repo.get(conversation_id)
    try:
        owner = check_conversation_token(token, conversation_id, server_secret)
    except Unauthorized:
        owner = decode_user_token(token, user_secret).id
    except Forbidden:
        raise
    if conv is None:
        raise NotFound("conversation not found")
    if conv.user_id != owner:
        raise Forbidden("this token does not authorise that conversation")
    return conv


@router.post("", status_code=201, summary="Start a conversation")
async def start_conversation(
    request: Request,
    services: ServicesDep,
    credentials: Bearer,
    body: Annotated[StartConversation | None, Body()] = None,
) -> ConversationCreated:
    """Start a conversation for the user of the bearer JWT (or an anonymous user when allowed)."""
    runtime = request.app.state.runtime
    settings = runtime.settings
    body = body or StartConversation()
    if credentials is not None:
        identity = decode_user_token(credentials.credentials, settings.user_token_secret.get_secret_value())
    elif settings.allow_anonymous:
        identity = anonymous_user()
    else:
        raise Unauthorized("a user token is required")
    runtime.components["limiter_ip"].check("ip", _client_ip(request), settings.rate_limit_ip_per_minute)
    conv = await run_in_threadpool(services.chat.start, identity, channel=body.channel, locale=body.locale)
    token = issue_conversation_token(conv.id, identity.id, settings.secret_key.get_secret_value())
    return ConversationCreated(conversation_id=conv.id, token=token, user_id=identity.id, tier=identity.tier)


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.post(
    "/{conversation_id}/messages",
    summary="Send a user turn and get the assistant's decision",
    response_model=TurnResponse,
)
async def post_message(
    conversation_id: str, message: UserMessage, request: Request, services: ServicesDep, credentials: Bearer
) -> Response:
    """One user turn: free text or a quick-reply payload."""
    token = credentials.credentials if credentials else None
    # Authorisation, limits and the turn read and write the store: all of it runs off the event loop, in one hop.
    body = await run_in_threadpool(
        _turn, request.app.state, services, conversation_id, token, _client_ip(request), message
    )
    return Response(body, media_type="application/json")


def _turn(
    state: Any, services: Services, conversation_id: str, token: str | None, ip: str, message: UserMessage
) -> bytes:
    conv = authorize_conversation(state, services, conversation_id, token)
    settings = state.runtime.settings
    state.runtime.components["limiter_ip"].check("ip", ip, settings.rate_limit_ip_per_minute)
    outcome = services.chat.post(conv.id, text=message.text, quick_reply=message.quick_reply, conversation=conv)
    return encode_turn(outcome)


@router.get("/{conversation_id}/messages", summary="The transcript, optionally after a message")
async def get_messages(
    conversation_id: str,
    request: Request,
    services: ServicesDep,
    credentials: Bearer,
    after: Annotated[str | None, Query(max_length=64, description="Only messages after this message id.")] = None,
) -> Transcript:
    """User, bot, agent and system entries in order."""
    conv = authorize_conversation(
        request.app.state, services, conversation_id, credentials.credentials if credentials else None
    )
    after_seq = services.chat.repo.seq_of(conv.id, after) if after else 0
    messages = await run_in_threadpool(services.chat.transcript, conv.id, after_seq=after_seq)
    return Transcript(conversation_id=conv.id, mode=conv.mode, messages=messages)


@router.post("/{conversation_id}/feedback", status_code=204, summary="Thumbs up or down on an answer")
async def post_feedback(
    conversation_id: str, body: Feedback, request: Request, services: ServicesDep, credentials: Bearer
) -> None:
    """Record whether an answer helped."""
    conv = authorize_conversation(
        request.app.state, services, conversation_id, credentials.credentials if credentials else None
    )
    await run_in_threadpool(services.chat.feedback, conv.id, body.message_id, body.rating)


@router.post("/{conversation_id}/csat", status_code=204, summary="Rate the human help (1–5)")
async def post_csat(
    conversation_id: str, body: Csat, request: Request, services: ServicesDep, credentials: Bearer
) -> None:
    """Satisfaction with the advisor, after a handoff was resolved."""
    conv = authorize_conversation(
        request.app.state, services, conversation_id, credentials.credentials if credentials else None
    )
    await run_in_threadpool(services.chat.csat, conv.id, body.score, body.comment)


WS_CLOSE = {Unauthorized: 4401, Forbidden: 4403, NotFound: 4404}


@router.websocket("/{conversation_id}/ws")
async def conversation_ws(
    websocket: WebSocket,
    conversation_id: str,
    token: str = "",
    after_seq: int = 0,
    after: str | None = None,
) -> None:
    """Live events of one conversation; resumes after `after_seq` (or message id `after`) with no gap or repeat."""
    await websocket.accept()
    state = websocket.app.state
    try:
        services = services_of(state)
        conv = authorize_conversation(state, services, conversation_id, token)
        last = services.chat.repo.seq_of(conv.id, after) if after else max(after_seq, 0)
    except AssistantError as exc:
        code = next((c for kind, c in WS_CLOSE.items() if isinstance(exc, kind)), 4400)
        await websocket.close(code=code, reason=exc.message[:120])
        return
    bus = state.runtime.bus
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    nonce = uuid.uuid4().hex
    topic = conversation_topic(conv.id)

    async def pump() -> None:
        async for event in bus.subscribe(topic):
            await inbox.put(event)

    pump_task = asyncio.create_task(pump())
    try:
        await _await_subscription(bus, topic, nonce, inbox)
        last = await _send_backlog(websocket, services, conv.id, last)
        receiver = asyncio.create_task(_drain_client(websocket))
        while not receiver.done():
            getter = asyncio.create_task(inbox.get())
            done, _ = await asyncio.wait({getter, receiver}, return_when=asyncio.FIRST_COMPLETED)
            if getter not in done:
                getter.cancel()
                break
            event = getter.result()
            if event.get("type") == "_sync":
                continue
            if event.get("type") == "message":
                seq = int(event["message"].get("seq", 0))
                if seq <= last:
                    continue
                if seq > last + 1:  # something was published before we listened: read it from the log
                    last = await _send_backlog(websocket, services, conv.id, last, upto=seq - 1)
                last = seq
            await websocket.send_json(event)
    except WebSocketDisconnect:
        pass
    finally:
        pump_task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await pump_task


async def _await_subscription(bus: Any, topic: str, nonce: str, inbox: asyncio.Queue[dict[str, Any]]) -> None:
    """Publish a marker until it comes back, so the subscription is live before the backlog is read."""
    loop = asyncio.get_running_loop()
    held: list[dict[str, Any]] = []
    for _ in range(100):
        bus.publish(topic, {"type": "_sync", "nonce": nonce})
        deadline = loop.time() + 0.05
        while (remaining := deadline - loop.time()) > 0:
            try:
                event = await asyncio.wait_for(inbox.get(), timeout=remaining)
            except TimeoutError:
                break
            if event.get("type") == "_sync":
                if event.get("nonce") == nonce:
                    rest = [inbox.get_nowait() for _ in range(inbox.qsize())]
                    for item in held + rest:
                        inbox.put_nowait(item)
                    return
                continue
            held.append(event)
    for item in held:
        inbox.put_nowait(item)


async def _send_backlog(
    websocket: WebSocket, services: Services, conversation_id: str, after: int, upto: int = 0
) -> int:
    messages = await run_in_threadpool(services.chat.repo.messages, conversation_id, after_seq=after)
    for message in messages:
        if upto and message.seq > upto:
            break
        await websocket.send_json({"type": "message", "message": message_to_json(message)})
        after = message.seq
    return after


async def _drain_client(websocket: WebSocket) -> None:
    """Read (and ignore) what the client sends; returns when it disconnects."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            await websocket.receive_text()
