"""The escalation and answering policy (policy.yaml): handoff triggers, business hours, answer framing."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from assistant.dialogue.config import Field, LocalizedText, load_yaml
from assistant.errors import ConfigError

# Re-exported: the policy file configures the advisors' desk hours, one type shared with handoff/.
from handoff.hours import DAYS as DAYS
from handoff.hours import BusinessHours as BusinessHours

_TIME_RE = re.compile(r"^([01]?\d|2[0-4]):([0-5]\d)$")

DEFAULT_EXPLICIT_PHRASES = (
    "转人工",
    "人工客服",
    "人工服务",
    "找人工",
    "真人客服",
    "接人工",
    "talk to a person",
    "talk to a human",
    "speak to a person",
    "speak to someone",
    "human agent",
    "real person",
    "live agent",
)


@dataclass(frozen=True)
class SentimentRule:
    """Hand off after `consecutive_turns` turns at or below `threshold`, or once at `immediate_threshold`."""

    threshold: float = -0.6
    consecutive_turns: int = 2
    immediate_threshold: float | None = -0.9


@dataclass(frozen=True)
class HighStakesRule:
    """Paid tiers asking about money with an uncertain reading go to a person, not a risky answer."""

    enabled: bool = True
    intents: tuple[str, ...] = ("refund_request", "refund_status", "coupon_payment")
    tiers: tuple[str, ...] = ("member", "vip")
    min_confidence: float = 0.6


@dataclass(frozen=True)
class HandoffPolicy:
    """When a conversation escalates to a person."""

    explicit_phrases: tuple[str, ...] = DEFAULT_EXPLICIT_PHRASES
    max_consecutive_fallbacks: int = 2
    negative_sentiment: SentimentRule = field(default_factory=SentimentRule)
    complaint_hands_off: bool = True
    high_stakes: HighStakesRule = field(default_factory=HighStakesRule)


@dataclass(frozen=True)
class AnswerStyle:
    """Framing added around curated answers."""

    complaint_opening: LocalizedText = field(
        default_factory=lambda: LocalizedText(
            "非常抱歉给您带来不好的体验，我们非常重视您的反馈。",
            "We're sorry for the trouble, and we take your feedback seriously. ",
        )
    )
    tier_greeting: Mapping[str, LocalizedText] = field(
        default_factory=lambda: {
            "vip": LocalizedText("尊敬的VIP学员，", "Dear VIP member, "),
            "member": LocalizedText("尊敬的会员，", "Dear member, "),
            "free": LocalizedText("", ""),
        }
    )

    def greeting_for(self, tier: str, locale: str) -> str:
        """The tier's salutation in `locale` ('' for unknown tiers)."""
        text = self.tier_greeting.get(tier)
        return text.get(locale) if text else ""


@dataclass(frozen=True)
class RetrievalPolicy:
    """Retrieval knobs; None leaves the engine's calibrated default."""

    disambiguation_margin: float | None = None
    corroborated_evidence: float | None = None  # share of the answerable bar a backed weak hit needs


@dataclass(frozen=True)
class Policy:
    """The whole policy file."""

    handoff: HandoffPolicy = field(default_factory=HandoffPolicy)
    business_hours: BusinessHours = field(default_factory=BusinessHours)
    answers: AnswerStyle = field(default_factory=AnswerStyle)
    retrieval: RetrievalPolicy = field(default_factory=RetrievalPolicy)


def _clock(item: Field, default: time | None) -> time | None:
    if not item.present:
        return default
    text = item.text()
    match = _TIME_RE.match(text)
    if not match:
        raise item.error(f"must be a time HH:MM, got {text!r}")
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour == 24:
        if minute:
            raise item.error(f"must be a time HH:MM, got {text!r}")
        return None
    return time(hour, minute)


def _business_hours(node: Field) -> BusinessHours:
    base = BusinessHours()
    zone = node.child("timezone").text(base.timezone)
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise node.child("timezone").error(f"is not a known timezone: {zone!r}") from None
    days = tuple(d.lower() for d in node.child("days").texts(base.days))
    unknown = [d for d in days if d not in DAYS]
    if unknown:
        raise node.child("days").error(f"has unknown days {unknown}; use {list(DAYS)}")
    if not days:
        raise node.child("days").error("must name at least one day")
    opens = _clock(node.child("open"), base.open) or time(0, 0)
    try:
        return BusinessHours(
            zone, days, opens, _clock(node.child("close"), base.close), _holidays(node.child("holidays"))
        )
    except ConfigError as exc:
        raise node.error(f"is inconsistent: {exc}") from None


def _holidays(node: Field) -> tuple[date, ...]:
    found = []
    for item in node.items():
        # YAML reads an unquoted 2025-10-01 as a date already; a quoted one arrives as text.
        value = item.value
        if isinstance(value, date) and not isinstance(value, datetime):
            found.append(value)
            continue
        try:
            found.append(date.fromisoformat(str(value)))
        except ValueError:
            raise item.error(f"must be a date YYYY-MM-DD, got {value!r}") from None
    return tuple(sorted(set(found)))


def _handoff(node: Field) -> HandoffPolicy:
    base, sentiment, stakes = HandoffPolicy(), node.child("negative_sentiment"), node.child("high_stakes")
    sentiment.mapping(required=False)
    stakes.mapping(required=False)
    immediate = sentiment.child("immediate_threshold")
    return HandoffPolicy(
        explicit_phrases=node.child("explicit_phrases").texts(base.explicit_phrases),
        max_consecutive_fallbacks=node.child("max_consecutive_fallbacks").integer(
            base.max_consecutive_fallbacks, low=0
        ),
        negative_sentiment=SentimentRule(
            threshold=sentiment.child("threshold").number(SentimentRule.threshold, low=-1.0, high=0.0),
            consecutive_turns=sentiment.child("consecutive_turns").integer(SentimentRule.consecutive_turns, low=1),
            immediate_threshold=(
                immediate.number(-1.0, low=-1.0, high=0.0) if immediate.present else SentimentRule.immediate_threshold
            ),
        ),
        complaint_hands_off=node.child("complaint_hands_off").flag(base.complaint_hands_off),
        high_stakes=HighStakesRule(
            enabled=stakes.child("enabled").flag(HighStakesRule.enabled),
            intents=stakes.child("intents").texts(HighStakesRule.intents),
            tiers=stakes.child("tiers").texts(HighStakesRule.tiers),
            min_confidence=stakes.child("min_confidence").number(HighStakesRule.min_confidence, low=0.0, high=1.0),
        ),
    )


def _answers(node: Field) -> AnswerStyle:
    base = AnswerStyle()
    greetings = dict(base.tier_greeting)
    tiers = node.child("tier_greeting")
    for tier in tiers.mapping(required=False):
        greetings[tier] = tiers.child(tier).localized(allow_empty=True)
    return AnswerStyle(
        complaint_opening=node.child("complaint_opening").localized(base.complaint_opening, allow_empty=True),
        tier_greeting=greetings,
    )


def parse_policy(data: Any, source: str = "policy.yaml") -> Policy:
    """Validate a parsed policy document; absent keys take defaults, errors name the file and field."""
    root = Field(source, "", data, data is not None)
    root.mapping(required=False)
    for name in ("handoff", "business_hours", "answers", "retrieval"):
        root.child(name).mapping(required=False)
    margin = root.child("retrieval").child("disambiguation_margin")
    backed = root.child("retrieval").child("corroborated_evidence")
    return Policy(
        handoff=_handoff(root.child("handoff")),
        business_hours=_business_hours(root.child("business_hours")),
        answers=_answers(root.child("answers")),
        retrieval=RetrievalPolicy(
            margin.number(0.0, low=0.0, high=1.0) if margin.present else None,
            backed.number(1.0, low=0.0, high=1.0) if backed.present else None,
        ),
    )


def load_policy(path: Path) -> Policy:
    """Read and validate policy.yaml."""
    return parse_policy(load_yaml(path), str(path))
