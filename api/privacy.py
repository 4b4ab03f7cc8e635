"""Privacy wiring: the PrivacyService on the runtime, the user-JWT dependency and the retention job."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.runtime import Runtime
from assistant.auth import UserIdentity, decode_user_token
from assistant.errors import Unauthorized
from assistant.privacy import AuditLog, Eraser, ExtraEraser, PrivacyService
from assistant.retention import RetentionJob, RetentionReport, purge_expired

PRIVACY_KEY = "privacy"
# list[ExtraEraser]: components that keep user data outside documents, logs and events (e.g. a channel's keys
# by openid) append their own erasure here; it runs with every erasure and retention purge.
ERASERS_KEY = "privacy_erasers"
_bearer = HTTPBearer(auto_error=False, description="The user's JWT from the platform (not a conversation token).")


def privacy_of(runtime: Runtime) -> PrivacyService:
    """The runtime's privacy service, built on first use."""
    service = runtime.components.get(PRIVACY_KEY)
    if isinstance(service, PrivacyService):
        return service
    components = runtime.components

    def extra() -> Sequence[ExtraEraser]:
        return tuple(components.get(ERASERS_KEY, ()))

    def queue_changed() -> None:
        handoff = components.get("handoff")
        if handoff is not None:
            handoff.notify.queue(time.time())

    eraser = Eraser(runtime.store, runtime.bus, extra=extra, on_queue_change=queue_changed)
    audit = AuditLog(runtime.store, runtime.settings.secret_key.get_secret_value())
    return components.setdefault(PRIVACY_KEY, PrivacyService(runtime.store, eraser, audit))  # type: ignore[no-any-return]


def get_privacy(request: Request) -> PrivacyService:
    """FastAPI dependency: the app's privacy service."""
    return privacy_of(request.app.state.runtime)


def current_user(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> UserIdentity:
    """The user of the bearer JWT; conversation and agent tokens are refused (401)."""
    if credentials is None:
        raise Unauthorized("a user token is required")
    secret = request.app.state.runtime.settings.user_token_secret.get_secret_value()
    return decode_user_token(credentials.credentials, secret)


Privacy = Annotated[PrivacyService, Depends(get_privacy)]
CurrentUser = Annotated[UserIdentity, Depends(current_user)]


def start_retention(runtime: Runtime) -> Callable[[], None]:
    """Start the retention job unless its interval is 0; returns the function that stops it."""
    settings = runtime.settings
    if settings.retention_interval_minutes <= 0:
        return lambda: None

    def run() -> RetentionReport:
        service = privacy_of(runtime)
        return purge_expired(runtime.store, service.eraser, days=settings.retention_days, audit=service.audit)

    job = RetentionJob(run, settings.retention_interval_minutes * 60, keys=runtime.store)
    job.start()
    return job.stop
