"""The disambiguation margin: its value on labelled searches, and its calibration on the FAQ's own wordings."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from assistant.dialogue.margin import LabelledSearch, choose_margin, decision_value, score_margin
from assistant.embedding import Embedder
from knowledge_base import build_knowledge_base, load_faq
from knowledge_base.models import Hit, SearchResult
from tests.knowledge_base.conftest import FIXTURES


def _search(hits: Sequence[tuple[str, float]], right: str | None, threshold: float = 0.3) -> LabelledSearch:
    found = tuple(Hit(i, s, i) for i, s in hits)
    return LabelledSearch(SearchResult("q", found, bool(found) and found[0].score >= threshold, threshold), right)


def test_answering_right_is_worth_one_asking_with_the_right_entry_half() -> None:
    close = _search([("a", 0.6), ("b", 0.55), ("c", 0.1)], right="b")
    assert decision_value(close, 0.0) == 0.0  # answers a: wrong
    assert decision_value(close, 0.1) == 0.5  # asks a or b: b is listed
    assert decision_value(_search([("a", 0.6), ("b", 0.55)], right="c"), 0.1) == 0.0
    assert decision_value(_search([("a", 0.9), ("b", 0.2)], right="a"), 0.1) == 1.0
    assert decision_value(_search([("a", 0.2)], right="a"), 0.1) == 0.0  # unanswerable: a fallback


def test_the_chosen_margin_asks_where_the_top_hit_is_a_coin_toss() -> None:
    # Gaps below 0.05 are wrong two times in three (the runner-up is right); gaps of 0.2 and more are right.
    searches = [
        *[_search([("a", 0.6), ("b", 0.57)], right="b") for _ in range(2)],
        _search([("a", 0.6), ("b", 0.57)], right="a"),
        *[_search([("a", 0.8), ("b", 0.6)], right="a") for _ in range(5)],
    ]
    chosen = choose_margin(searches)
    assert 0.03 < chosen.margin <= 0.2
    assert chosen.value == score_margin(searches, chosen.margin).value
    assert chosen.asked == pytest.approx(3 / 8)
    # Had the close calls been right, asking would only cost: the margin is zero.
    assert choose_margin([_search([("a", 0.6), ("b", 0.57)], right="a")] * 3).margin == 0.0


@pytest.mark.slow
def test_leave_one_out_hides_the_probed_wording(real_embedder: Embedder) -> None:
    from evals.dialogue_margin import leave_one_out

    kb = build_knowledge_base(load_faq([FIXTURES]), real_embedder)
    searches = leave_one_out(kb)
    assert len(searches) == sum(len(e.all_questions) for e in kb.entries)
    lower = 0
    for search in searches:
        full = kb.search(search.result.query, top_k=5)
        hidden = next((h.score for h in search.result.hits if h.id == search.right), 0.0)
        seen = next((h.score for h in full.hits if h.id == search.right), 0.0)
        lower += hidden < seen
    # With its own wording hidden, an entry is found on weaker evidence than with it.
    assert lower / len(searches) > 0.8
    # And most entries are still found through their other wordings.
    found = sum(s.result.top is not None and s.result.top.id == s.right for s in searches)
    assert found / len(searches) > 0.5
