"""Short-lived keys that hold a user's data: a channel's dedup results, idempotent responses, reply windows.

Such keys expire by themselves, but an erasure must not wait for that. Whoever writes one records it in a small
ledger document owned by the user; erasing the user (or a conversation a key names) deletes the keys with it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from storage.ports import Store

KEY_LEDGER = "key_ledger"


class KeyLedger:
    """Remembers which keys hold whose data, so that `Eraser` can delete them at once."""

    def __init__(self, store: Store, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._clock = clock

    def record(self, owner: str, entry_id: str, keys: Sequence[str], *, ttl_seconds: float | None) -> None:
        """Note that `keys` hold `owner`'s data, until they expire in `ttl_seconds` (None: until erased).

        `entry_id` names the entry across users (e.g. the delivery id); recording it again replaces it.
        """
        if ttl_seconds is None:
            # A lasting entry (one per follower or conversation) is written once, not at every message.
            if self._store.owners_of(KEY_LEDGER, entry_id) == owner:
                return
            expires_at = None
        else:
            self._prune(owner)
            expires_at = self._clock() + ttl_seconds
        entry = {"id": entry_id, "keys": list(keys), "expires_at": expires_at}
        self._store.put(KEY_LEDGER, entry_id, entry, owner=owner)

    def delete_keys(self, entry_id: str) -> int:
        """Delete the keys an entry names (the entry itself stays for the caller to delete); how many it named."""
        entry = self._store.get(KEY_LEDGER, entry_id)
        keys = [str(k) for k in (entry or {}).get("keys", [])]
        for key in keys:
            self._store.delete_key(key)
        return len(keys)

    def _prune(self, owner: str) -> None:
        # Entries whose keys have expired name nothing any more; dropping them keeps a user's ledger as small
        # as their recent activity.
        now = self._clock()
        for entry in self._store.list(KEY_LEDGER, owner=owner):
            expires_at = entry.get("expires_at")
            if isinstance(expires_at, int | float) and expires_at < now:
                self._store.delete(KEY_LEDGER, str(entry.get("id", "")))
