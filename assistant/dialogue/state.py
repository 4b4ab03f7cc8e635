"""Per-conversation dialogue state: bounded history, topic, pending clarification, escalation counters."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

from assistant.errors import InvalidInput

if TYPE_CHECKING:
    from knowledge_base.models import Hit

STATE_VERSION = 1
MAX_HISTORY = 20  # turns kept (user and assistant); older ones live only in the message log
MAX_SENTIMENT = 5  # recent user sentiment scores kept for the trend
MAX_TEXT_CHARS = 500  # history texts are clipped so the stored document stays small

Role = Literal["user", "assistant"]
ClarificationKind = Literal["slot", "disambiguation"]


@dataclass(frozen=True)
class TurnRecord:
    """One history entry: who spoke, what, and for assistant turns the action, FAQ and intent behind it."""

    role: Role
    text: str
    action: str | None = None
    faq_id: str | None = None
    intent: str | None = None


@dataclass(frozen=True)
class Candidate:
    """An FAQ entry offered in a disambiguation question."""

    faq_id: str
    question: str
    score: float

    @classmethod
    def of(cls, hit: Hit) -> Candidate:
        """The candidate offering a search hit."""
        return cls(hit.id, hit.question, hit.score)


@dataclass(frozen=True)
class PendingClarification:
    """The question the assistant is waiting on: a flow's slot (its option payloads) or FAQ candidates."""

    kind: ClarificationKind
    query: str  # the user text that prompted the question
    flow: str | None = None
    slot: str | None = None
    options: tuple[str, ...] = ()
    candidates: tuple[Candidate, ...] = ()
    attempts: int = 0  # replies that matched nothing; one retry, then the question is dropped


@dataclass(frozen=True)
class DialogueState:
    """Everything the engine remembers about one conversation between turns."""

    history: tuple[TurnRecord, ...] = ()
    last_faq_id: str | None = None
    last_category: str | None = None
    last_question: str | None = None
    last_answered_at: str | None = None  # ISO time of the last answer; old topics stop being context
    pending: PendingClarification | None = None
    slots: Mapping[str, str] = field(default_factory=dict)
    consecutive_fallbacks: int = 0
    sentiment: tuple[float, ...] = ()
    tier: str = "free"
    locale: str = "zh"
    turn_count: int = 0
    handed_off: bool = False
    handoff_reason: str | None = None

    def with_history(self, *records: TurnRecord) -> DialogueState:
        """A copy with `records` appended (texts clipped) and the history bounded."""
        clipped = tuple(replace(r, text=r.text[:MAX_TEXT_CHARS]) for r in records)
        return replace(self, history=(*self.history, *clipped)[-MAX_HISTORY:])

    def with_sentiment(self, score: float) -> DialogueState:
        """A copy with one more user sentiment score in the bounded trend."""
        return replace(self, sentiment=(*self.sentiment, round(score, 4))[-MAX_SENTIMENT:])

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready document."""
        pending = self.pending
        return {
            "version": STATE_VERSION,
            "history": [
                {"role": r.role, "text": r.text, "action": r.action, "faq_id": r.faq_id, "intent": r.intent}
                for r in self.history
            ],
            "last_faq_id": self.last_faq_id,
            "last_category": self.last_category,
            "last_question": self.last_question,
            "last_answered_at": self.last_answered_at,
            "pending": None
            if pending is None
            else {
                "kind": pending.kind,
                "query": pending.query,
                "flow": pending.flow,
                "slot": pending.slot,
                "options": list(pending.options),
                "candidates": [
                    {"faq_id": c.faq_id, "question": c.question, "score": c.score} for c in pending.candidates
                ],
                "attempts": pending.attempts,
            },
            "slots": dict(self.slots),
            "consecutive_fallbacks": self.consecutive_fallbacks,
            "sentiment": list(self.sentiment),
            "tier": self.tier,
            "locale": self.locale,
            "turn_count": self.turn_count,
            "handed_off": self.handed_off,
            "handoff_reason": self.handoff_reason,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DialogueState:
        """Rebuild a state from `to_dict` output; missing keys take defaults, malformed raise InvalidInput."""
        try:
            pending_data = data.get("pending")
            pending = None
            if pending_data:
                kind = pending_data["kind"]
                if kind not in ("slot", "disambiguation"):
                    raise ValueError(f"unknown clarification kind {kind!r}")
                pending = PendingClarification(
                    kind=kind,
                    query=str(pending_data.get("query", "")),
                    flow=_opt_str(pending_data.get("flow")),
                    slot=_opt_str(pending_data.get("slot")),
                    options=tuple(str(o) for o in pending_data.get("options", ())),
                    candidates=tuple(
                        Candidate(str(c["faq_id"]), str(c["question"]), float(c["score"]))
                        for c in pending_data.get("candidates", ())
                    ),
                    attempts=int(pending_data.get("attempts", 0)),
                )
            history = []
            for item in data.get("history", ()):
                role = item["role"]
                if role not in ("user", "assistant"):
                    raise ValueError(f"unknown role {role!r}")
                history.append(
                    TurnRecord(
                        role=role,
                        text=str(item.get("text", "")),
                        action=_opt_str(item.get("action")),
                        faq_id=_opt_str(item.get("faq_id")),
                        intent=_opt_str(item.get("intent")),
                    )
                )
            return cls(
                history=tuple(history[-MAX_HISTORY:]),
                last_faq_id=_opt_str(data.get("last_faq_id")),
                last_category=_opt_str(data.get("last_category")),
                last_question=_opt_str(data.get("last_question")),
                last_answered_at=_opt_str(data.get("last_answered_at")),
                pending=pending,
                slots={str(k): str(v) for k, v in dict(data.get("slots") or {}).items()},
                consecutive_fallbacks=int(data.get("consecutive_fallbacks", 0)),
                sentiment=tuple(float(s) for s in data.get("sentiment", ()))[-MAX_SENTIMENT:],
                tier=str(data.get("tier", "free")),
                locale=str(data.get("locale", "zh")),
                turn_count=int(data.get("turn_count", 0)),
                handed_off=bool(data.get("handed_off", False)),
                handoff_reason=_opt_str(data.get("handoff_reason")),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InvalidInput(f"malformed dialogue state: {exc}") from exc


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)
