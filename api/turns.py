"""The JSON of one user turn, as the chat API and the signed webhooks return it (schema: `TurnResponse`).

Built as plain data and encoded once: validating it through pydantic on every turn cost more than the rest of the
response path, and `tests/api/test_turns.py` checks the shape against the schema instead.
"""

from __future__ import annotations

import json
from typing import Any

from assistant.chat import TurnOutcome
from assistant.conversations import message_to_json


def turn_json(outcome: TurnOutcome) -> dict[str, Any]:
    """The turn as JSON-ready data in the `TurnResponse` shape."""
    decision = outcome.decision if outcome.bot_message else None
    reply = None
    intent = None
    sources: list[dict[str, Any]] = []
    if decision is not None:
        reply = {
            "text": decision.text,
            "quick_replies": [{"title": q.title, "payload": q.payload} for q in decision.quick_replies],
        }
        if decision.intent is not None:
            intent = {"name": decision.intent.intent, "confidence": round(decision.intent.confidence, 4)}
        sources = [{"id": s.faq_id, "score": round(s.score, 4), "question": ""} for s in decision.sources]
    handoff = outcome.handoff
    return {
        "message_id": (outcome.bot_message or outcome.user_message).id,
        "action": outcome.action,
        "reply": reply,
        "intent": intent,
        "sources": sources,
        "handoff": _handoff(handoff) if handoff is not None else None,
        "user_message": message_to_json(outcome.user_message),
        "bot_message": message_to_json(outcome.bot_message) if outcome.bot_message else None,
    }


def encode_turn(outcome: TurnOutcome) -> bytes:
    """The turn's JSON body, compact and with Chinese kept readable (as FastAPI's own responses)."""
    return json.dumps(turn_json(outcome), ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


def _handoff(handoff: dict[str, Any]) -> dict[str, Any]:
    eta = handoff.get("eta_seconds")
    return {
        "ticket_id": handoff["ticket_id"],
        "reason": handoff["reason"],
        "queue_position": int(handoff["queue_position"]),
        "eta_seconds": float(eta) if eta is not None else None,
        "agents_available": bool(handoff.get("agents_available", True)),
    }
