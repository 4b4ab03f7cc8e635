"""Build the HandoffService from the runtime, with hooks looked up at call time so they may arrive later."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from assistant.conversations import Conversation
from assistant.errors import Unavailable
from assistant.settings import Settings
from handoff.hours import BusinessHours
from handoff.packet import Summarizer
from handoff.service import HandoffService
from knowledge_base.models import FaqEntry
from storage.ports import EventBus, Store, StoredMessage

SERVICE_KEY = "handoff"
SUGGEST_KEY = "suggest"  # Callable[[str], list[dict]]: query -> [{"id", "question", "answer", "score"}]
PUBLISH_KEY = "kb_publish"  # Callable[[list[FaqEntry]], str]: entries -> new snapshot version
SUMMARIZER_KEY = "summarizer"  # Callable[[list[str]], str]: transcript lines -> summary (optional LLM)
OUTBOX_KEY = "outbox"  # .emit(event_type, payload): outbound webhooks (channels/outbox.py)
DELIVERY_KEY = "channel_delivery"  # .check(conv), (conv, message): WeChat & co. (channels/delivery.py)


class RuntimeLike(Protocol):
    """What the service needs from `api.runtime.Runtime` (kept structural so the core never imports api/)."""

    settings: Settings
    store: Store
    bus: EventBus
    components: dict[str, Any]


def _suggest(components: dict[str, Any]) -> Callable[[str], list[dict[str, Any]]]:
    def suggest(query: str) -> list[dict[str, Any]]:
        hook = components.get(SUGGEST_KEY)
        return list(hook(query)) if hook is not None else []

    return suggest


def _publish(components: dict[str, Any]) -> Callable[[list[FaqEntry]], str]:
    def publish(entries: list[FaqEntry]) -> str:
        hook = components.get(PUBLISH_KEY)
        if hook is None:
            raise Unavailable("publishing to the knowledge base is not configured yet")
        return str(hook(entries))

    return publish


def _summarizer(components: dict[str, Any]) -> Summarizer:
    def summarize(lines: list[str]) -> str:
        hook = components.get(SUMMARIZER_KEY)
        return str(hook(lines)) if hook is not None else ""  # empty: the extractive summary stands

    return summarize


class _LateDelivery:
    """The channels' delivery hook, looked up at call time (absent: nothing to deliver, nothing to check)."""

    def __init__(self, components: dict[str, Any]) -> None:
        self._components = components

    def check(self, conversation: Conversation) -> None:
        hook = self._components.get(DELIVERY_KEY)
        if hook is not None:
            hook.check(conversation)

    def __call__(self, conversation: Conversation, message: StoredMessage) -> object:
        hook = self._components.get(DELIVERY_KEY)
        return hook(conversation, message) if hook is not None else None


def late_emit(components: Mapping[str, Any]) -> Callable[[str, Mapping[str, Any]], None]:
    """An emit function that finds the outbox at call time (a no-op until channels install one)."""

    def emit(event_type: str, payload: Mapping[str, Any]) -> None:
        outbox = components.get(OUTBOX_KEY)
        if outbox is not None:
            outbox.emit(event_type, payload)

    return emit


def build_handoff_service(runtime: RuntimeLike, *, hours: BusinessHours | None = None) -> HandoffService:
    """The service on the runtime's store and bus, with SLAs from Settings and late-bound KB/LLM hooks."""
    settings = runtime.settings
    return HandoffService(
        runtime.store,
        runtime.bus,
        sla_minutes={tier: settings.sla_minutes(tier) for tier in ("vip", "member", "free")},
        hours=hours or BusinessHours(timezone=settings.timezone),
        summarizer=_summarizer(runtime.components),
        suggest=_suggest(runtime.components),
        publish=_publish(runtime.components),
        emit=late_emit(runtime.components),
        delivery=_LateDelivery(runtime.components),
    )


def handoff_service(runtime: RuntimeLike) -> HandoffService:
    """The runtime's service (`components["handoff"]`), built on first use when nobody wired it."""
    service = runtime.components.get(SERVICE_KEY)
    if not isinstance(service, HandoffService):
        service = runtime.components.setdefault(SERVICE_KEY, build_handoff_service(runtime))
    return service
