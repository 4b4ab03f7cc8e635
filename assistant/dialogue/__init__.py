"""The dialogue engine (pure core): state, decisions, context, clarification flows, escalation policy."""

from __future__ import annotations

from assistant.dialogue.decision import (
    ACTIONS,
    HANDOFF_REASONS,
    Decision,
    QuickReply,
    Source,
    Trace,
    TraceQuery,
    UserTurn,
)
from assistant.dialogue.engine import DialogueEngine
from assistant.dialogue.flows import Flow, FlowOption, Flows, load_flows, parse_flows, validate_flow_faq_ids
from assistant.dialogue.policy import Policy, load_policy, parse_policy
from assistant.dialogue.ports import AnswerRequest, AnswerWriter, DraftAnswer, FaqRetriever
from assistant.dialogue.state import DialogueState, PendingClarification, TurnRecord

__all__ = [
    "ACTIONS",
    "HANDOFF_REASONS",
    "AnswerRequest",
    "AnswerWriter",
    "Decision",
    "DialogueEngine",
    "DialogueState",
    "DraftAnswer",
    "FaqRetriever",
    "Flow",
    "FlowOption",
    "Flows",
    "PendingClarification",
    "Policy",
    "QuickReply",
    "Source",
    "Trace",
    "TraceQuery",
    "TurnRecord",
    "UserTurn",
    "load_flows",
    "load_policy",
    "parse_flows",
    "parse_policy",
    "validate_flow_faq_ids",
]
