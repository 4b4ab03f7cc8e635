"""One conversation per external thread: a channel's id (WeChat openid, a caller's conversation id) → ours."""

from __future__ import annotations

import time
from collections.abc import Callable

from assistant.auth import UserIdentity
from assistant.chat import ChatService
from assistant.conversations import Conversation
from assistant.errors import Conflict
from storage.ports import Store

LINK = "channel_link"
_LOCK_SECONDS = 10.0


class ChannelConversations:
    """Finds or starts the conversation of an external thread; links are documents owned by the user."""

    def __init__(self, store: Store, chat: Callable[[], ChatService], clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._chat = chat
        self.clock = clock

    def resolve(
        self,
        channel: str,
        external_id: str,
        identity: UserIdentity,
        *,
        idle_seconds: float | None = None,
        reassign: bool = False,
    ) -> Conversation:
        """The thread's conversation; a new one when there is none or (with `idle_seconds`) it went idle."""
        # A conversation with an open handoff never goes idle: the user keeps their advisor. A thread of
        # another user is a Conflict (a caller reusing its ids), or with `reassign` a fresh conversation
        # (a follower the operator has mapped to another platform user since).
        link_id = f"{channel}:{external_id}"
        found = self._current(link_id, identity, idle_seconds, reassign)
        if found is not None:
            return found
        lock = f"lock:channel_link:{link_id}"
        deadline = time.monotonic() + _LOCK_SECONDS
        # Two first messages of one user may race: one starts the conversation, the other waits and reuses it.
        while not self._store.set_once(lock, "1", _LOCK_SECONDS):
            if time.monotonic() > deadline:
                raise Conflict("this conversation is being started by another request; retry")
            time.sleep(0.005)
        try:
            found = self._current(link_id, identity, idle_seconds, reassign)
            if found is not None:
                return found
            conversation = self._chat().start(identity, channel=channel, external_id=external_id)
            link = {"conversation_id": conversation.id, "user_id": identity.id, "last_seen": self.clock()}
            self._store.put(LINK, link_id, link, owner=identity.id)
            return conversation
        finally:
            self._store.delete_key(lock)

    def _current(
        self, link_id: str, identity: UserIdentity, idle_seconds: float | None, reassign: bool
    ) -> Conversation | None:
        link = self._store.get(LINK, link_id)
        if link is None:
            return None
        if link.get("user_id") != identity.id:
            if reassign:
                return None
            raise Conflict("this external conversation belongs to another user")
        conversation = self._chat().repo.get(str(link.get("conversation_id", "")))
        if conversation is None:  # erased meanwhile
            return None
        now = self.clock()
        idle = idle_seconds is not None and now - float(link.get("last_seen", 0.0)) > idle_seconds
        if idle and conversation.mode == "bot":
            return None
        self._store.update_if(LINK, link_id, {}, {"last_seen": now})
        return conversation
