"""Calibrating the disambiguation margin: when the runner-up is close enough that asking beats guessing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from assistant.dialogue.clarification import close_candidates
from knowledge_base.models import SearchResult

# What a clarification that lists the right entry is worth next to answering right at once: the user gets the
# answer, one turn later. A wrong answer, or a question that does not list the right entry, is worth nothing.
CLARIFY_VALUE = 0.5
MARGIN_GRID = tuple(round(0.01 * i, 2) for i in range(51))


@dataclass(frozen=True)
class LabelledSearch:
    """A search result and the FAQ entry that actually answers its query (None: nothing in the FAQ does)."""

    result: SearchResult
    right: str | None


@dataclass(frozen=True)
class MarginScore:
    """The value of one margin over labelled searches, and how often it answers right, asks, or answers wrong."""

    margin: float
    value: float
    answered_right: float
    asked: float
    answered_wrong: float


def decision_value(search: LabelledSearch, margin: float, clarify_value: float = CLARIFY_VALUE) -> float:
    """The value of the engine's choice for one search: answer the top hit, or ask among the close ones."""
    result = search.result
    if not result.answerable or result.top is None:
        return 0.0  # a fallback whatever the margin
    candidates = close_candidates(result, margin)
    if len(candidates) >= 2:
        return clarify_value if any(c.faq_id == search.right for c in candidates) else 0.0
    return 1.0 if result.top.id == search.right else 0.0


def score_margin(
    searches: Sequence[LabelledSearch], margin: float, clarify_value: float = CLARIFY_VALUE
) -> MarginScore:
    """Mean value and outcome shares of `margin` over the answerable searches."""
    answerable = [s for s in searches if s.result.answerable and s.result.top is not None]
    if not answerable:
        return MarginScore(margin, 0.0, 0.0, 0.0, 0.0)
    asked = [s for s in answerable if len(close_candidates(s.result, margin)) >= 2]
    direct = [s for s in answerable if len(close_candidates(s.result, margin)) < 2]
    right = sum(1 for s in direct if s.result.top is not None and s.result.top.id == s.right)
    n = len(answerable)
    value = sum(decision_value(s, margin, clarify_value) for s in answerable) / n
    return MarginScore(margin, value, right / n, len(asked) / n, (len(direct) - right) / n)


def choose_margin(
    searches: Sequence[LabelledSearch],
    grid: Sequence[float] = MARGIN_GRID,
    clarify_value: float = CLARIFY_VALUE,
) -> MarginScore:
    """The margin of highest value on `searches` (the smallest of equals: answering is the default)."""
    scores = [score_margin(searches, m, clarify_value) for m in sorted(grid)]
    best = max(s.value for s in scores)
    return next(s for s in scores if s.value >= best - 1e-12)
