"""The training export: what users typed, with the intent and FAQ the bot matched, for retraining and evals.

Users who opted out of training (`UserProfile.training_opt_out`) are left out entirely, and personal data in
the texts is always redacted: a phone number is never a training feature.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

from assistant.conversations import CONVERSATION, USER
from assistant.redaction import redact
from storage.ports import Store, StoredMessage


@dataclass(frozen=True)
class TrainingExample:
    """One user text and how the bot understood it."""

    text: str
    intent: str | None
    confidence: float | None
    action: str
    faq_id: str | None
    locale: str | None
    channel: str
    at: float


@dataclass(frozen=True)
class TrainingExport:
    """The examples, and how many users were left out because they opted out."""

    examples: list[TrainingExample]
    opted_out_users: int
    truncated: bool

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "count": len(self.examples),
            "opted_out_users": self.opted_out_users,
            "truncated": self.truncated,
            "examples": [asdict(e) for e in self.examples],
        }


def opted_out(store: Store, user_id: str) -> bool:
    """True if the user asked that their conversations never train the assistant."""
    profile = store.get(USER, user_id)
    return bool(profile and profile.get("training_opt_out"))


def training_export(store: Store, *, limit: int, scrub: Callable[[str], str] = redact) -> TrainingExport:
    """Up to `limit` examples from every conversation of users who did not opt out, oldest conversations first."""
    conversations = sorted(store.list(CONVERSATION), key=lambda d: (d.get("created_at", 0), d.get("id", "")))
    verdicts: dict[str, bool] = {}
    examples: list[TrainingExample] = []
    for conversation in conversations:
        user_id = str(conversation.get("user_id", ""))
        if user_id not in verdicts:
            verdicts[user_id] = opted_out(store, user_id)
        if verdicts[user_id]:
            continue
        messages = store.list_messages(str(conversation.get("id", "")))
        for user_message, bot_message in _turns(messages):
            if len(examples) >= limit:
                return TrainingExport(examples, sum(verdicts.values()), truncated=True)
            intent = bot_message.data.get("intent") or {}
            examples.append(
                TrainingExample(
                    text=scrub(user_message.text),
                    intent=intent.get("name"),
                    confidence=intent.get("confidence"),
                    action=str(bot_message.data.get("action")),
                    faq_id=bot_message.data.get("faq_id"),
                    locale=bot_message.data.get("locale"),
                    channel=str(conversation.get("channel", "")),
                    at=user_message.created_at,
                )
            )
    return TrainingExport(examples, sum(verdicts.values()), truncated=False)


def _turns(messages: list[StoredMessage]) -> Iterator[tuple[StoredMessage, StoredMessage]]:
    """Typed user messages paired with the bot decision that answered them (quick replies are not text)."""
    for current, following in itertools.pairwise(messages):
        if (
            current.role == "user"
            and "quick_reply" not in current.data
            and following.role == "bot"
            and "action" in following.data
        ):
            yield current, following
