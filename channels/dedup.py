"""Processing each inbound delivery once across retries and workers; retries wait for the first result."""

from __future__ import annotations

import json
import time
from typing import Any

from assistant.privacy.keys import KeyLedger
from storage.ports import KeyStore

PENDING = "pending"
_PARTS = ("claim", "result", "fate")


class OnceGate:
    """A claim key per delivery (`set_once`), a result key the first processor fills, and a one-time fate.

    With a `ledger`, a claim made for a user records the delivery's keys, so erasing the user deletes them.
    """

    def __init__(self, keys: KeyStore, prefix: str, ttl_seconds: float, *, ledger: KeyLedger | None = None) -> None:
        self._keys = keys
        self._prefix = prefix
        self._ttl = ttl_seconds
        self._ledger = ledger

    def claim(self, delivery_id: str, owner: str = "") -> bool:
        """True for exactly one caller per delivery id within the TTL: that caller processes it (for `owner`)."""
        if not self._keys.set_once(self._key("claim", delivery_id), PENDING, self._ttl):
            return False
        if self._ledger is not None and owner:
            keys = [self._key(part, delivery_id) for part in _PARTS]
            try:
                self._ledger.record(owner, f"{self._prefix}:{delivery_id}", keys, ttl_seconds=self._ttl)
            except Exception:
                self.release(delivery_id)  # unrecorded keys would outlive an erasure: let a retry start over
                raise
        return True

    def finish(self, delivery_id: str, result: dict[str, Any]) -> None:
        """Store the result every retry of this delivery gets."""
        self._keys.set_key(self._key("result", delivery_id), json.dumps(result, ensure_ascii=False), self._ttl)

    def result(self, delivery_id: str) -> dict[str, Any] | None:
        """The stored result, or None while the first processor is still at work."""
        raw = self._keys.get_key(self._key("result", delivery_id))
        return json.loads(raw) if raw else None

    def wait(self, delivery_id: str, timeout: float) -> dict[str, Any] | None:
        """Poll for the result until `timeout` seconds have passed (None if it has not come)."""
        deadline = time.monotonic() + timeout
        delay = 0.005
        while True:
            found = self.result(delivery_id)
            if found is not None or time.monotonic() >= deadline:
                return found
            time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            delay = min(delay * 2, 0.05)

    def decide(self, delivery_id: str, fate: str) -> str:
        """Settle a one-time choice (e.g. reply now vs. later); returns whichever fate was set first."""
        key = self._key("fate", delivery_id)
        if self._keys.set_once(key, fate, self._ttl):
            return fate
        return self._keys.get_key(key) or fate

    def release(self, delivery_id: str) -> None:
        """Forget a claim whose processing failed without side effects, so a retry may try again."""
        self._keys.delete_key(self._key("claim", delivery_id))

    def _key(self, part: str, delivery_id: str) -> str:
        return f"{self._prefix}:{part}:{delivery_id}"
