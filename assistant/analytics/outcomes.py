"""Each conversation's outcome (handed off, confirmed, unanswered, returned, assumed) from a time-ordered stream.

A conversation is judged once nothing can change its outcome any more: RETURN_WINDOW after its last activity
(a later conversation of the same user with the same question would make it `returned`). Judged conversations
are dropped, so memory holds only the conversations of the last day, not the whole period.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

from assistant.analytics.models import ASSUMED, CONFIRMED, HANDED_OFF, RETURNED, UNANSWERED
from assistant.text import char_ngrams, normalize

RETURN_WINDOW = 24 * 3600.0
_LATIN = re.compile(r"[a-z0-9]+")
# Two fallback texts ask "the same question" when they share this much of their tokens (Jaccard):
# near-duplicates and light rephrasings, not merely the same topic. A product definition, not a fitted value.
SAME_TEXT_JACCARD = 0.5
# Intents that say nothing about what the user wanted to know, so sharing them is not "the same question".
GENERIC_INTENTS = frozenset({"human_agent", "greeting", "thanks_goodbye", "complaint", "oos"})

Judged = Callable[[str, str, int], None]  # (conversation id, outcome or "" when the user never spoke, turns)


@dataclass(slots=True)
class _Open:
    user_id: str
    started_at: float
    counted: bool
    last_at: float
    turns: int = 0
    answered: bool = False
    confirmed: bool = False
    handed_off: bool = False
    returned: bool = False
    topics: set[str] = field(default_factory=set)
    texts: list[frozenset[str]] = field(default_factory=list)

    def outcome(self) -> str:
        if not self.turns:
            return ""
        if self.handed_off:
            return HANDED_OFF
        if self.confirmed:
            return CONFIRMED
        if not self.answered:
            return UNANSWERED
        return RETURNED if self.returned else ASSUMED


@lru_cache(maxsize=20_000)  # unanswered questions repeat a lot
def text_signature(text: str) -> frozenset[str]:
    """Chinese character bigrams and Latin words: enough to spot a repeated question, and no segmenter to load."""
    norm = normalize(text)
    return frozenset(char_ngrams(norm, (2,)) + _LATIN.findall(norm))


def same_text(a: frozenset[str], b: frozenset[str]) -> bool:
    """True when two texts ask the same question (Jaccard of their tokens at least SAME_TEXT_JACCARD)."""
    if not a or not b:
        return False
    return len(a & b) / len(a | b) >= SAME_TEXT_JACCARD


class OutcomeTracker:
    """Follows open conversations and reports each one's outcome once it is final."""

    def __init__(self, on_judged: Judged, *, window: float = RETURN_WINDOW) -> None:
        self._on_judged = on_judged
        self._window = window
        self._open: dict[str, _Open] = {}
        self._by_user: dict[str, list[str]] = {}
        self._expiry: list[tuple[float, str]] = []

    @property
    def open_count(self) -> int:
        """Conversations held in memory right now."""
        return len(self._open)

    def advance(self, now: float) -> None:
        """Judge every conversation whose return window closed before `now`."""
        while self._expiry and self._expiry[0][0] < now:
            due, conversation_id = heapq.heappop(self._expiry)
            conv = self._open.get(conversation_id)
            if conv is None:
                continue
            actual = conv.last_at + self._window
            if actual > due:  # it was active since: look again later
                heapq.heappush(self._expiry, (actual, conversation_id))
            else:
                self._judge(conversation_id)

    def finish(self) -> None:
        """Judge everything still open (the end of the stream)."""
        for conversation_id in list(self._open):
            self._judge(conversation_id)

    def start(self, conversation_id: str, user_id: str, at: float, *, counted: bool) -> None:
        """A conversation began; `counted=False` follows it only to notice returns to earlier ones."""
        self._open[conversation_id] = _Open(user_id, at, counted, at)
        if user_id:
            self._by_user.setdefault(user_id, []).append(conversation_id)
        heapq.heappush(self._expiry, (at + self._window, conversation_id))

    def turn(self, conversation_id: str, at: float, action: str, intent: str | None, faq_id: str | None) -> None:
        """A user turn and the bot's decision."""
        conv = self._open.get(conversation_id)
        if conv is None:
            return
        conv.turns += 1
        conv.last_at = max(conv.last_at, at)
        if action == "answer":
            conv.answered = True
        elif action == "handoff":
            conv.handed_off = True
        topics = set()
        if faq_id:
            topics.add(f"faq:{faq_id}")
        if intent and intent not in GENERIC_INTENTS:
            topics.add(f"intent:{intent}")
        if topics:
            self._mark_returns(conversation_id, conv, at, lambda earlier: not topics.isdisjoint(earlier.topics))
            conv.topics.update(topics)

    def text(self, conversation_id: str, at: float, text: str) -> None:
        """The text of a turn the bot could not answer (fallback or handoff)."""
        conv = self._open.get(conversation_id)
        if conv is None or not text:
            return
        signature = text_signature(text)
        self._mark_returns(
            conversation_id, conv, at, lambda earlier: any(same_text(signature, t) for t in earlier.texts)
        )
        conv.texts.append(signature)

    def confirm(self, conversation_id: str) -> None:
        """The user said thanks or rated an answer useful."""
        conv = self._open.get(conversation_id)
        if conv is not None:
            conv.confirmed = True

    def hand_off(self, conversation_id: str) -> None:
        """A ticket was opened for the conversation."""
        conv = self._open.get(conversation_id)
        if conv is not None:
            conv.handed_off = True

    def _mark_returns(self, conversation_id: str, later: _Open, at: float, same: Callable[[_Open], bool]) -> None:
        for other_id in self._by_user.get(later.user_id, ()):
            earlier = self._open[other_id]
            if (
                other_id != conversation_id
                and earlier.started_at < later.started_at
                and at - earlier.last_at <= self._window
                and not earlier.returned
                and same(earlier)
            ):
                earlier.returned = True

    def _judge(self, conversation_id: str) -> None:
        conv = self._open.pop(conversation_id)
        siblings = self._by_user.get(conv.user_id)
        if siblings is not None:
            siblings.remove(conversation_id)
            if not siblings:
                del self._by_user[conv.user_id]
        if conv.counted:
            self._on_judged(conversation_id, conv.outcome(), conv.turns)
