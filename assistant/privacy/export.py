"""Data export: everything the assistant stores about one user, as one JSON-ready document."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from assistant.conversations import CONVERSATION, STATE, USER
from assistant.privacy.keys import KEY_LEDGER
from handoff.models import CANDIDATE, OPEN_TICKET, TICKET
from storage.ports import Store, StoredEvent, StoredMessage

FORMAT = "zhixing-assistant/user-data-export@1"
NOTES_LABEL = (
    "Internal notes support advisors wrote about your requests. They are personal data about you, so they are "
    "included; advisors are named by their console username."
)
# Covered by their own sections (or, for the open-ticket index, by `tickets`); the key ledger is bookkeeping for
# erasure (which short-lived keys to delete), not data about the user.
_SECTIONED = {USER, CONVERSATION, STATE, TICKET, OPEN_TICKET, CANDIDATE, KEY_LEDGER}


SECTIONS = ("conversations", "tickets", "faq_candidates", "analytics_events", "other_records")


def has_data(export: Mapping[str, Any]) -> bool:
    """True when the export holds anything at all about the user."""
    return export.get("profile") is not None or any(export.get(section) for section in SECTIONS)


def export_user(store: Store, user_id: str, *, now: float) -> dict[str, Any]:
    """The export (with empty sections when nothing is stored about the user)."""
    owned = store.owned(user_id)
    events = store.events_of(user_id=user_id)
    profile = store.get(USER, user_id)
    by_kind: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for kind, doc_id in owned:
        doc = store.get(kind, doc_id)
        if doc is not None:
            by_kind.setdefault(kind, []).append((doc_id, doc))
    conversations = sorted((doc for _, doc in by_kind.get(CONVERSATION, [])), key=lambda d: d.get("created_at", 0))
    return {
        "format": FORMAT,
        "user_id": user_id,
        "exported_at": now,
        "profile": profile,
        "preferences": {"training_opt_out": bool((profile or {}).get("training_opt_out", False))},
        "conversations": [_conversation(store, doc) for doc in conversations],
        "tickets": [_ticket(doc) for _, doc in sorted(by_kind.get(TICKET, []))],
        "faq_candidates": [doc for _, doc in sorted(by_kind.get(CANDIDATE, []))],
        "analytics_events": [_event(e) for e in events],
        "other_records": [
            {"kind": kind, "id": doc_id, "data": doc}
            for kind, docs in sorted(by_kind.items())
            if kind not in _SECTIONED
            for doc_id, doc in docs
        ],
    }


def _conversation(store: Store, doc: Mapping[str, Any]) -> dict[str, Any]:
    conversation_id = str(doc.get("id", ""))
    return {
        **doc,
        "dialogue_state": store.get(STATE, conversation_id),
        "messages": [_message(m) for m in store.list_messages(conversation_id)],
    }


def _message(message: StoredMessage) -> dict[str, Any]:
    # `data` is kept whole: the bot's recorded reasoning about the user's text (intent, retrieval) is theirs too.
    return {
        "message_id": message.id,
        "seq": message.seq,
        "role": message.role,
        "text": message.text,
        "created_at": message.created_at,
        "data": message.data,
    }


def _ticket(doc: Mapping[str, Any]) -> dict[str, Any]:
    ticket = {k: v for k, v in doc.items() if k != "notes"}
    ticket["advisor_notes"] = {"description": NOTES_LABEL, "notes": list(doc.get("notes") or [])}
    return ticket


def _event(event: StoredEvent) -> dict[str, Any]:
    return {"type": event.type, "at": event.at, "conversation_id": event.conversation_id, "data": event.data}
