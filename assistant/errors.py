"""Domain errors: one base class and a few families that the HTTP layer maps to statuses in one place."""

from __future__ import annotations


class AssistantError(Exception):
    """Base of every error the product raises on purpose."""

    code: str = "error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class InvalidInput(AssistantError, ValueError):
    """The caller sent something malformed or out of range (HTTP 400/422)."""

    code = "invalid_input"


class NotFound(AssistantError, LookupError):
    """The thing asked for does not exist, or the caller may not know it exists (HTTP 404)."""

    code = "not_found"


class Conflict(AssistantError):
    """The request lost a race or contradicts the current state (HTTP 409)."""

    code = "conflict"


class Unauthorized(AssistantError):
    """Missing or invalid credentials (HTTP 401)."""

    code = "unauthorized"


class Forbidden(AssistantError):
    """Valid credentials that do not allow this action (HTTP 403)."""

    code = "forbidden"


class RateLimited(AssistantError):
    """Too many requests; retry after `retry_after` seconds (HTTP 429)."""

    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Unavailable(AssistantError):
    """A dependency (model, index, store) is not ready or not reachable (HTTP 503)."""

    code = "unavailable"


class ConfigError(AssistantError, ValueError):
    """A developer or operator mistake in configuration or content files (fails at start-up)."""

    code = "config_error"
