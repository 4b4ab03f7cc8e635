"""The engine's working memory for one user turn, shared by the decision procedure and the reply builders."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from assistant.dialogue.decision import Decision, TraceQuery, UserTurn
from assistant.dialogue.retrieval import Retrieval
from assistant.dialogue.state import DialogueState, TurnRecord
from assistant.intents.types import IntentPrediction

Outcome = tuple[Decision, DialogueState]


def aware(moment: datetime) -> datetime:
    """`moment` with a timezone; naive datetimes are taken as UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass
class TurnContext:
    """What is known so far about the turn being decided (mutable; lives for one `decide` call)."""

    state: DialogueState  # the state being built, this user turn already recorded
    prior: tuple[TurnRecord, ...]  # history before this turn
    turn: UserTurn
    text: str
    locale: str
    sentiment: float
    agents_available: bool
    intent: IntentPrediction | None = None
    vector: np.ndarray | None = None
    retrieval: Retrieval | None = None
    queries: list[TraceQuery] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    writer: str = ""
