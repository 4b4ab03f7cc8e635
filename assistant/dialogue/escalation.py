"""Escalation triggers from the policy: explicit requests, sentiment, complaints, high-stakes uncertainty."""

from __future__ import annotations

import re

from assistant.dialogue.policy import HandoffPolicy, HighStakesRule, SentimentRule
from assistant.intents.types import IntentPrediction
from assistant.text import normalize

HUMAN_AGENT = "human_agent"
COMPLAINT = "complaint"
# "不要转人工" / "no need to talk to a person" are not requests.
_NEGATED_BEFORE = re.compile(r"(?:不要|不用|不需要|别|无需|不想|don't|do not|dont|no need to|not)\s*$")


def asks_for_person(text: str, phrases: tuple[str, ...]) -> bool:
    """True when the text contains one of the explicit handoff phrases, not negated."""
    norm = normalize(text)
    for phrase in phrases:
        needle = normalize(phrase)
        start = norm.find(needle)
        while needle and start >= 0:
            if not _NEGATED_BEFORE.search(norm[max(0, start - 12) : start]):
                return True
            start = norm.find(needle, start + 1)
    return False


def is_explicit_request(text: str, intent: IntentPrediction | None, policy: HandoffPolicy) -> bool:
    """An explicit ask for a person: a policy phrase or the `human_agent` intent."""
    return asks_for_person(text, policy.explicit_phrases) or (intent is not None and intent.intent == HUMAN_AGENT)


def is_sustained_negative(scores: tuple[float, ...], rule: SentimentRule) -> bool:
    """True when the latest score passes the immediate threshold, or the last N all pass the threshold."""
    if not scores:
        return False
    if rule.immediate_threshold is not None and scores[-1] <= rule.immediate_threshold:
        return True
    recent = scores[-rule.consecutive_turns :]
    return len(recent) == rule.consecutive_turns and all(s <= rule.threshold for s in recent)


def is_angry_complaint(intent: IntentPrediction | None, sentiment: float, policy: HandoffPolicy) -> bool:
    """A complaint said with negative feeling, when the policy sends those to a person."""
    return policy.complaint_hands_off and intent is not None and intent.intent == COMPLAINT and sentiment < 0


def is_uncertain_high_stakes(intent: IntentPrediction | None, tier: str, evidence: float, rule: HighStakesRule) -> bool:
    """A paid user's money question where neither the intent nor the best FAQ evidence is confident enough."""
    return (
        rule.enabled
        and intent is not None
        and intent.intent in rule.intents
        and tier in rule.tiers
        and intent.confidence < rule.min_confidence
        and evidence < rule.min_confidence
    )
