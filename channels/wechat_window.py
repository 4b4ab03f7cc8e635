"""WeChat's customer-service window: messages may be pushed only within 48 hours of the user's last action."""

from __future__ import annotations

import time
from collections.abc import Callable

from storage.ports import KeyStore

WINDOW_SECONDS = 48 * 3600.0
# The key outlives the window a little so that a check right at the edge still reads the real time.
_KEY_TTL = WINDOW_SECONDS + 3600.0


class ServiceWindow:
    """Remembers each follower's last interaction in the store (shared by workers) and says if it is open."""

    def __init__(self, keys: KeyStore, clock: Callable[[], float] = time.time) -> None:
        self._keys = keys
        self.clock = clock

    def touch(self, openid: str) -> None:
        """Record an interaction now (a message, a subscription, a menu click: all open the window)."""
        self._keys.set_key(self._key(openid), repr(self.clock()), _KEY_TTL)

    def last_interaction(self, openid: str) -> float | None:
        """When the follower last interacted, or None if not within the window's memory."""
        raw = self._keys.get_key(self._key(openid))
        return float(raw) if raw else None

    def is_open(self, openid: str) -> bool:
        """True while customer-service messages to this follower are allowed."""
        last = self.last_interaction(openid)
        return last is not None and self.clock() - last < WINDOW_SECONDS

    @staticmethod
    def _key(openid: str) -> str:
        return f"wechat:last_in:{openid}"
