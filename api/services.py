"""Builds the request-facing services once the heavy components are loaded, and hands them to routes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request

from api.runtime import Runtime
from assistant.chat import ChatService
from assistant.errors import Unavailable
from assistant.redaction import redactor


@dataclass
class Services:
    """The services routes call."""

    chat: ChatService


def build_services(runtime: Runtime) -> Services:
    """Wire the chat service to the engine and the handoff service."""
    from handoff.wiring import build_handoff_service, late_emit

    settings = runtime.settings
    components = runtime.components
    # One schedule: the engine's "advisors online?" and the desk's after-hours SLA read the same policy.
    handoff = build_handoff_service(runtime, hours=components["engine"].policy.business_hours)
    components["handoff"] = handoff

    def engine() -> Any:
        return components["engine"]

    chat = ChatService(
        runtime.store,
        runtime.bus,
        engine,
        escalator=handoff,
        max_message_chars=settings.max_message_chars,
        user_rate_limit=settings.rate_limit_user_per_minute,
        redact=redactor(settings.redact_transcripts) if settings.redact_transcripts else None,
        outbox=late_emit(components),  # channels: outbound webhooks
    )
    return Services(chat=chat)


def services_of(request_or_app_state: Any) -> Services:
    """The runtime's services, or 503 while the assistant is still starting."""
    runtime: Runtime = request_or_app_state.runtime
    services = runtime.components.get("services")
    if services is None:
        raise Unavailable(runtime.startup_error or "the assistant is starting; retry in a few seconds")
    return services  # type: ignore[no-any-return]


def get_services(request: Request) -> Services:
    """FastAPI dependency: the services of this app."""
    return services_of(request.app.state)
