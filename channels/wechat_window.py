"""WeChat's customer-service window: messages may be pushed only within 48 hours of the user's last action."""

from __future__ import annotations

import time
from collections.abc import Callable

from assistant.privacy.keys import KeyLedger
from storage.ports import Store

WINDOW_SECONDS = 48 * 3600.0
# The key outlives the window a little so that a check right at the edge still reads the real time.
_KEY_TTL = WINDOW_SECONDS + 3600.0


class ServiceWindow:
    """Remembers each follower's last interaction in the store (shared by workers) and says if it is open."""

    def __init__(self, store: Store, clock: Callable[[], float] = time.time) -> None:
        self._keys = store
        self._ledger = KeyLedger(store)
        self.clock = clock

    def touch(self, openid: str, owner: str) -> None:
        """Record an interaction of `owner`'s follower now (a message, a subscription, a menu click all count)."""
        key = self._key(openid)
        self._ledger.record(owner, key, [key], ttl_seconds=None)
        self._keys.set_key(key, repr(self.clock()), _KEY_TTL)

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
