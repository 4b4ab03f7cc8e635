"""Weak evidence another signal backs: a best hit below the answerable bar that the intent or the topic agrees with.

"下载的课过段时间就打不开了" finds the download-validity entry, but below the knowledge base's answerable bar; the
intent classifier, which learned from other wordings, reads it as a download question too. Two independent
signals agreeing on the entry's kind are worth more than either alone, so a lower bar applies, calibrated on
labelled queries by `python -m evals.dialogue_margin` (policy.yaml `retrieval.corroborated_evidence`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from assistant.dialogue.ports import FaqRetriever
from assistant.embedding import Embedder
from assistant.intents.types import IntentClassifier, IntentPrediction
from knowledge_base.models import Hit, SearchResult

# Candidate bars, as shares of the knowledge base's answerable threshold (1.0: the rule never applies).
SHARE_GRID = tuple(round(0.05 * i, 2) for i in range(4, 21))


def evidence_share(hit: Hit | None, result: SearchResult) -> float:
    """A hit's score as a share of the result's answerable bar (0 without a hit)."""
    if hit is None or result.threshold <= 0:
        return 0.0
    return hit.score / result.threshold


class EntryIntents:
    """The intent the classifier reads in each FAQ entry's own question (computed once per entry, on demand)."""

    def __init__(self, kb: FaqRetriever, intents: IntentClassifier, embedder: Embedder | None) -> None:
        self._kb = kb
        self._intents = intents
        self._embedder = embedder
        self._known: dict[str, str | None] = {}

    def of(self, faq_id: str) -> str | None:
        """The entry's intent (None: unknown entry or out of scope)."""
        if faq_id not in self._known:
            entry = self._kb.get(faq_id)
            label = None
            if entry is not None:
                vectors = self._embedder.embed([entry.question]) if self._embedder is not None else None
                prediction = self._intents.predict([entry.question], vectors)[0]
                label = None if prediction.is_oos else prediction.intent
            self._known[faq_id] = label
        return self._known[faq_id]


def corroboration(hit: Hit, intent: IntentPrediction | None, entry_intent: str | None, topic: str | None) -> str | None:
    """What backs `hit`: "intent" (the message's intent is the entry's), "topic" (the conversation's), or None."""
    if intent is not None and not intent.is_oos and entry_intent == intent.intent:
        return "intent"
    if topic is not None and hit.category == topic:
        return "topic"
    return None


def backed_hit(
    result: SearchResult, intent: IntentPrediction | None, entry_intent: Callable[[str], str | None], topic: str | None
) -> tuple[Hit, str] | None:
    """The best hit something backs, with what backs it ("电脑上能下吗": the download entry under a playback one)."""
    for hit in result.hits:
        backing = corroboration(hit, intent, entry_intent(hit.id), topic)
        if backing is not None:
            return hit, backing
    return None


@dataclass(frozen=True)
class WeakHit:
    """A labelled search whose best hit fell below the bar: its share of the bar, whether backed, whether right."""

    share: float
    corroborated: bool
    right: bool


@dataclass(frozen=True)
class ShareScore:
    """What answering backed weak hits from `share` of the bar up would have done: right and wrong answers."""

    share: float
    right: int
    wrong: int

    @property
    def value(self) -> int:
        """Right answers minus wrong ones: a wrong answer costs what a right one gains, a fallback nothing."""
        return self.right - self.wrong


def score_share(samples: Sequence[WeakHit], share: float) -> ShareScore:
    """Right and wrong answers the rule gives on `samples` with this bar."""
    taken = [s for s in samples if s.corroborated and s.share >= share]
    right = sum(s.right for s in taken)
    return ShareScore(share, right, len(taken) - right)


def choose_share(samples: Sequence[WeakHit], grid: Sequence[float] = SHARE_GRID) -> ShareScore:
    """The bar of highest value (the highest of equals: fewer weak answers); 1.0 when no bar helps."""
    scores = [score_share(samples, s) for s in sorted(grid, reverse=True)]
    best = max(scores, key=lambda s: s.value, default=ShareScore(1.0, 0, 0))
    return best if best.value > 0 else ShareScore(1.0, 0, 0)
