"""What goes into the engine (`UserTurn`) and what comes out of a turn (`Decision` with its `Trace`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from assistant.intents.types import IntentPrediction

Action = Literal["answer", "clarify", "smalltalk", "fallback", "handoff"]
ACTIONS: tuple[Action, ...] = ("answer", "clarify", "smalltalk", "fallback", "handoff")

HandoffReason = Literal[
    "explicit_request", "repeated_failure", "negative_sentiment", "complaint", "high_stakes_low_confidence"
]
HANDOFF_REASONS: tuple[HandoffReason, ...] = (
    "explicit_request",
    "repeated_failure",
    "negative_sentiment",
    "complaint",
    "high_stakes_low_confidence",
)

# Quick-reply payloads with a fixed meaning: the widget's "talk to a person" button, and picking an FAQ entry.
HANDOFF_PAYLOAD = "handoff"
FAQ_PAYLOAD_PREFIX = "faq:"


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class UserTurn:
    """One user message: free text and/or a quick-reply payload, who sent it, and when."""

    text: str | None = None
    quick_reply: str | None = None
    tier: str = "free"
    channel: str = "web"
    locale: str | None = None  # the widget's language; the text's own language wins
    now: datetime = field(default_factory=_utcnow)  # naive datetimes are taken as UTC


@dataclass(frozen=True)
class QuickReply:
    """A button under the reply: its visible title and the payload sent back when tapped."""

    title: str
    payload: str


@dataclass(frozen=True)
class Source:
    """An FAQ entry an answer rests on, with the calibrated probability that it answers the question."""

    faq_id: str
    score: float


@dataclass(frozen=True)
class TraceQuery:
    """One retrieval tried for the turn: query, context carried in, and the evidence found (or none)."""

    query: str
    context: str | None
    answerable: bool
    hits: tuple[Source, ...]
    chosen: bool = False


@dataclass(frozen=True)
class Trace:
    """Why the engine decided as it did; the handoff packet shows this to the agent."""

    queries: tuple[TraceQuery, ...] = ()
    intent: str | None = None
    intent_confidence: float | None = None
    sentiment: float = 0.0
    follow_up: bool = False
    writer: str = ""  # "curated" or "llm" for answers
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Decision:
    """The assistant's reply to one user turn."""

    action: Action
    text: str
    locale: str
    quick_replies: tuple[QuickReply, ...] = ()
    intent: IntentPrediction | None = None
    sources: tuple[Source, ...] = ()
    faq_id: str | None = None
    handoff_reason: HandoffReason | None = None
    agents_available: bool = True  # per business hours; outside them the service offers to leave a message
    resolved_confirmation: bool = False  # the user said thanks/goodbye: the issue counts as resolved
    trace: Trace = field(default_factory=Trace)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (for message logs, the handoff packet and the HTTP response)."""
        intent = self.intent
        return {
            "action": self.action,
            "text": self.text,
            "locale": self.locale,
            "quick_replies": [{"title": q.title, "payload": q.payload} for q in self.quick_replies],
            "intent": None
            if intent is None
            else {
                "text": intent.text,
                "intent": intent.intent,
                "confidence": intent.confidence,
                "ranking": [[label, score] for label, score in intent.ranking],
            },
            "sources": [{"faq_id": s.faq_id, "score": s.score} for s in self.sources],
            "faq_id": self.faq_id,
            "handoff_reason": self.handoff_reason,
            "agents_available": self.agents_available,
            "resolved_confirmation": self.resolved_confirmation,
            "trace": {
                "queries": [
                    {
                        "query": q.query,
                        "context": q.context,
                        "answerable": q.answerable,
                        "hits": [{"faq_id": h.faq_id, "score": h.score} for h in q.hits],
                        "chosen": q.chosen,
                    }
                    for q in self.trace.queries
                ],
                "intent": self.trace.intent,
                "intent_confidence": self.trace.intent_confidence,
                "sentiment": self.trace.sentiment,
                "follow_up": self.trace.follow_up,
                "writer": self.trace.writer,
                "notes": list(self.trace.notes),
            },
        }
