"""Users, conversations and messages as typed records, and the repository that keeps them in a Store."""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

from assistant.errors import NotFound
from storage.ports import Store, StoredMessage

Mode = Literal["bot", "queued", "human"]
USER = "user"
CONVERSATION = "conversation"
STATE = "dialogue_state"


@dataclass
class UserProfile:
    """A platform user as the assistant knows them."""

    id: str
    tier: str = "free"
    name: str = ""
    channel: str = "web"
    created_at: float = field(default_factory=time.time)
    training_opt_out: bool = False
    anonymous: bool = False


@dataclass
class Conversation:
    """One conversation; `mode` says who answers: the bot, nobody yet (queued for an agent), or an agent."""

    id: str
    user_id: str
    channel: str = "web"
    tier: str = "free"
    user_name: str = ""
    created_at: float = field(default_factory=time.time)
    updated_at: float = field(default_factory=time.time)
    mode: Mode = "bot"
    ticket_id: str | None = None
    external_id: str | None = None
    locale: str | None = None


def _from_doc(cls: type[Any], doc: Mapping[str, Any]) -> Any:
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in doc.items() if k in names})


class ConversationRepository:
    """Typed access to users, conversations, dialogue states and message logs."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # users ----------------------------------------------------------------------------------------
    def get_user(self, user_id: str) -> UserProfile | None:
        """The user's profile, or None."""
        doc = self.store.get(USER, user_id)
        return _from_doc(UserProfile, doc) if doc else None

    def save_user(self, user: UserProfile) -> None:
        """Create or replace a profile."""
        self.store.put(USER, user.id, asdict(user), owner=user.id)

    def ensure_user(self, user_id: str, *, tier: str, name: str, channel: str, anonymous: bool = False) -> UserProfile:
        """Fetch the profile, creating it or refreshing tier and name from the latest identity."""
        user = self.get_user(user_id)
        if user is None:
            user = UserProfile(id=user_id, tier=tier, name=name, channel=channel, anonymous=anonymous)
            self.save_user(user)
        elif user.tier != tier or (name and user.name != name):
            user.tier, user.name = tier, name or user.name
            self.save_user(user)
        return user

    # conversations ----------------------------------------------------------------------------------
    def create(self, user: UserProfile, *, channel: str, external_id: str | None = None) -> Conversation:
        """Start a new conversation for a user."""
        conv = Conversation(
            id=uuid.uuid4().hex,
            user_id=user.id,
            channel=channel,
            tier=user.tier,
            user_name=user.name,
            external_id=external_id,
        )
        self.store.put(CONVERSATION, conv.id, asdict(conv), owner=user.id)
        return conv

    def get(self, conversation_id: str) -> Conversation | None:
        """A conversation, or None."""
        doc = self.store.get(CONVERSATION, conversation_id)
        return _from_doc(Conversation, doc) if doc else None

    def require(self, conversation_id: str) -> Conversation:
        """A conversation, or NotFound."""
        conv = self.get(conversation_id)
        if conv is None:
            raise NotFound("conversation not found")
        return conv

    def update(self, conversation_id: str, **changes: Any) -> Conversation:
        """Change fields of a conversation (unconditionally)."""
        changes.setdefault("updated_at", time.time())
        doc = self.store.update_if(CONVERSATION, conversation_id, {}, changes)
        if doc is None:
            raise NotFound("conversation not found")
        return _from_doc(Conversation, doc)  # type: ignore[no-any-return]

    def switch_mode(self, conversation_id: str, expected: Mode, new: Mode, **changes: Any) -> Conversation | None:
        """Atomically move a conversation from one mode to another; None if it was not in `expected`."""
        doc = self.store.update_if(
            CONVERSATION,
            conversation_id,
            {"mode": expected},
            {"mode": new, "updated_at": time.time(), **changes},
        )
        return _from_doc(Conversation, doc) if doc else None

    def list_for_user(self, user_id: str) -> list[Conversation]:
        """Every conversation of a user, oldest first."""
        docs = self.store.list(CONVERSATION, owner=user_id)
        return sorted((_from_doc(Conversation, d) for d in docs), key=lambda c: c.created_at)

    # dialogue state ---------------------------------------------------------------------------------
    def load_state(self, conversation_id: str) -> dict[str, Any] | None:
        """The engine's saved state for a conversation."""
        return self.store.get(STATE, conversation_id)

    def save_state(self, conversation: Conversation, state: Mapping[str, Any]) -> None:
        """Persist the engine's state."""
        self.store.put(STATE, conversation.id, state, owner=conversation.user_id)

    # messages ---------------------------------------------------------------------------------------
    def append(
        self,
        conversation_id: str,
        role: str,
        text: str,
        data: Mapping[str, Any] | None = None,
        *,
        only_if_mode: Mode | None = None,
    ) -> StoredMessage | None:
        """Append a message durably; with `only_if_mode`, only while the conversation is in that mode."""
        require = {"mode": only_if_mode} if only_if_mode else None
        return self.store.append_message(conversation_id, role, text, data, require=require)

    def messages(self, conversation_id: str, *, after_seq: int = 0, limit: int | None = None) -> list[StoredMessage]:
        """The transcript after a sequence number."""
        return self.store.list_messages(conversation_id, after_seq=after_seq, limit=limit)

    def seq_of(self, conversation_id: str, message_id: str) -> int:
        """Sequence number of a message of this conversation (for `?after=`); NotFound otherwise."""
        message = self.store.get_message(message_id)
        if message is None or message.conversation_id != conversation_id:
            raise NotFound("message not found in this conversation")
        return message.seq


def message_to_json(message: StoredMessage) -> dict[str, Any]:
    """The public JSON form of a transcript entry."""
    return {
        "message_id": message.id,
        "seq": message.seq,
        "role": message.role,
        "text": message.text,
        "created_at": message.created_at,
        **{k: v for k, v in message.data.items() if k not in ("internal",)},
    }
