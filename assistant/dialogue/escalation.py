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


# Asking about the human service ("人工客服几点上班", "有电话客服吗") is a question for the FAQ, not a request.
_ASKING = re.compile(r"请问|想问|想知道|想了解|问一下|问下|i'd like to know|i want to know|can you tell me")
_ZH_REQUEST = re.compile(r"[转找要接请想帮让叫换]|麻烦|安排")
_EN_REQUEST = re.compile(
    r"\b(?:want|need|let me|connect|transfer|put me|get me|please|talk to|speak to|speak with|talk with)\b"
)
_ZH_QUESTION = re.compile(r"几点|什么时候|时间|电话|号码|多少|吗|哪|什么|怎么联系|如何联系|是否")
_EN_QUESTION = re.compile(r"\b(?:when|what|where|which|hours?|phone|number|is there|are there|do you have|how)\b|\?")
# Particles and modal verbs around a handoff phrase still leave a bare request: "可以人工服务吗" asks for one.
_FILLER = re.compile(r"[\s\W_]+|可以|能不能|可不可以|[啊呀吧啦呢哦嘛的了吗能]")
LITTLE_ELSE = 2  # characters or words beside a handoff phrase that still leave a bare request ("人工客服！")


def _units(text: str) -> int:
    return len(re.findall(r"[a-z0-9]+|[^\x00-\x7f]", text))


def asks_about_service(text: str, phrases: tuple[str, ...]) -> bool:
    """True when a message mentioning the human service reads as a question about it rather than a request.

    A bare phrase ("人工客服") or a request verb or marker (转/找/要/接/请/想, "I want", "connect me") is a request;
    otherwise a question word ("几点", "电话", "吗", "when", "is there") makes it a question.
    """
    norm = _ASKING.sub(" ", normalize(text))
    rest = norm
    for phrase in phrases:
        rest = rest.replace(normalize(phrase), " ")
    if rest != norm and _units(_FILLER.sub(" ", rest)) <= LITTLE_ELSE:
        return False
    if _ZH_REQUEST.search(norm) or _EN_REQUEST.search(norm):
        return False
    return bool(_ZH_QUESTION.search(norm) or _EN_QUESTION.search(norm))


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


SURE_COMPLAINT = 0.9  # a complaint reading this confident needs no sentiment word to be believed


def is_angry_complaint(
    intent: IntentPrediction | None, sentiment: float, policy: HandoffPolicy, *, asks: bool = False
) -> bool:
    """A complaint said with negative feeling, or one the classifier is sure of, said without any positive feeling
    and asking nothing (the lexicon misses much of how anger is written: "you are thieves, reporting you to my
    bank"; "老师讲太慢了 能快进吗" asks a question the FAQ may answer), when the policy sends those to a person."""
    if not policy.complaint_hands_off or intent is None or intent.intent != COMPLAINT:
        return False
    return sentiment < 0 or (sentiment == 0 and not asks and intent.confidence >= SURE_COMPLAINT)


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


def is_upset_about_money(
    intent: IntentPrediction | None, tier: str, sentiment: float, rule: HighStakesRule, feeling: SentimentRule
) -> bool:
    """A paid user's money matter said with strong negative feeling (the policy's sentiment threshold, once)."""
    return (
        rule.enabled
        and intent is not None
        and intent.intent in rule.intents
        and tier in rule.tiers
        and sentiment <= feeling.threshold
    )
