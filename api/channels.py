"""Channel endpoints: the WeChat Official Account, signed inbound webhooks, and the admins' outbound webhooks."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Path, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field

from api.agents import AdminAgent
from api.turns import turn_json
from assistant.errors import NotFound
from channels.subscriptions import WebhookSubscriptions, public
from channels.webhook_in import InboundWebhooks
from channels.webhook_queue import DeliveryQueue
from channels.wechat import WeChatInbound
from channels.wiring import QUEUE_KEY, SUBSCRIPTIONS_KEY, WEBHOOKS_IN_KEY, WECHAT_KEY

router = APIRouter(prefix="/channels", tags=["channels"])
webhooks_router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])
ChannelName = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")]
ItemId = Annotated[str, Path(min_length=1, max_length=64)]
EventName = Literal["message.created", "handoff.created", "handoff.resolved", "feedback.created"]
_NOT_CONFIGURED = (
    "WeChat is not configured on this server: set ASSISTANT_WECHAT_TOKEN (plus ASSISTANT_WECHAT_APP_ID and "
    "ASSISTANT_WECHAT_APP_SECRET for advisors' replies, ASSISTANT_WECHAT_AES_KEY for safe mode)"
)


def _component(request: Request, name: str) -> Any:
    return request.app.state.runtime.components.get(name)


def _wechat(request: Request) -> WeChatInbound:
    inbound = _component(request, WECHAT_KEY)
    if not isinstance(inbound, WeChatInbound):
        raise NotFound(_NOT_CONFIGURED, code="wechat_not_configured")
    return inbound


@router.get("/wechat", summary="WeChat URL verification (echoes `echostr` when the signature is right)")
async def wechat_verify(request: Request) -> PlainTextResponse:
    """WeChat calls this once when the server URL is saved in the Official Account settings."""
    return PlainTextResponse(_wechat(request).envelope.echo(request.query_params))


@router.post("/wechat", summary="A message or event from WeChat; answers with a passive reply within 5 s")
async def wechat_message(request: Request) -> Response:
    """Plain or AES safe mode; 403 for forged or stale signatures; `success` when the answer comes later."""
    inbound = _wechat(request)
    body = await request.body()
    reply = await run_in_threadpool(inbound.handle, dict(request.query_params), body)
    return Response(reply, media_type="application/xml" if reply.startswith("<") else "text/plain")


@router.post("/webhook/{channel}", summary="A user turn from an integration, HMAC-signed; returns the decision")
async def webhook_turn(
    channel: ChannelName,
    request: Request,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> dict[str, Any]:
    """Signed with `X-Signature: sha256=HMAC(secret, "<X-Timestamp>.<body>")`; same shape as the chat API."""
    inbound: InboundWebhooks = _component(request, WEBHOOKS_IN_KEY)
    body = await request.body()
    return await run_in_threadpool(inbound.handle, channel, request.headers, body, idempotency_key, turn_json)


class NewWebhook(BaseModel):
    """A URL to receive events, signed with the secret returned once at registration."""

    model_config = ConfigDict(extra="forbid")
    url: str = Field(min_length=8, max_length=2048, description="Absolute http(s) URL.")
    events: list[EventName] = Field(min_length=1, max_length=4)
    description: str = Field("", max_length=200)


def _subscriptions(request: Request) -> WebhookSubscriptions:
    return _component(request, SUBSCRIPTIONS_KEY)  # type: ignore[no-any-return]


def _queue(request: Request) -> DeliveryQueue:
    return _component(request, QUEUE_KEY)  # type: ignore[no-any-return]


@webhooks_router.post("", status_code=201, summary="Register an outbound webhook (admin); returns its secret once")
def create_webhook(body: NewWebhook, request: Request, admin: AdminAgent) -> dict[str, Any]:
    """Deliveries are POSTed as JSON, signed like inbound webhooks, retried with backoff."""
    return _subscriptions(request).subscribe(body.url, body.events, description=body.description, by=admin.username)


@webhooks_router.get("", summary="Outbound webhooks (admin), without secrets")
def list_webhooks(request: Request, admin: AdminAgent) -> dict[str, Any]:
    """Every subscription."""
    return {"webhooks": [public(s) for s in _subscriptions(request).all()]}


@webhooks_router.delete("/{webhook_id}", status_code=204, summary="Remove an outbound webhook (admin)")
def delete_webhook(webhook_id: ItemId, request: Request, admin: AdminAgent) -> Response:
    """Its queued deliveries are dropped."""
    _subscriptions(request).unsubscribe(webhook_id)
    return Response(status_code=204)


@webhooks_router.get("/dead-letters", summary="Deliveries that failed every attempt (admin)")
def dead_letters(request: Request, admin: AdminAgent) -> dict[str, Any]:
    """Newest first, with the last error and the payload."""
    return {"dead_letters": _queue(request).dead_letters()}


@webhooks_router.post("/dead-letters/{delivery_id}/replay", status_code=202, summary="Queue a dead letter again")
def replay_dead_letter(delivery_id: ItemId, request: Request, admin: AdminAgent) -> dict[str, Any]:
    """Fresh attempts from now; 404 unless it is a dead letter."""
    replayed = _queue(request).replay(delivery_id)
    _component(request, "webhook_dispatcher").wake()
    return replayed
