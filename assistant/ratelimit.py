"""Fixed-window rate limits kept in the store, so several workers share one budget."""

from __future__ import annotations

from assistant.errors import RateLimited
from storage.ports import KeyStore


class RateLimiter:
    """Counts hits per key in fixed windows and raises RateLimited past the limit."""

    def __init__(self, keys: KeyStore, window_seconds: float = 60.0) -> None:
        self._keys = keys
        self._window = window_seconds

    def check(self, scope: str, subject: str, limit: int) -> None:
        """Count one hit for `subject` in `scope`; raise RateLimited when over `limit` in the window."""
        count = self._keys.hit(f"rl:{scope}:{subject}", self._window)
        if count > limit:
            raise RateLimited(f"too many requests: at most {limit} per {int(self._window)} s", retry_after=self._window)
