"""Multi-turn rules on the real path: the demo FAQ, its intent model and the real embedder, turn after turn.

The logic of each rule has its unit tests on fakes; these check that, with the real retrieval's scores, a user
who answers a question back in their own words, or names only an action, gets the entry they mean.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from assistant.content import ContentManager
from assistant.dialogue import Decision, DialogueState, UserTurn
from assistant.embedding import CachingEmbedder, Embedder
from assistant.settings import Settings

pytestmark = pytest.mark.integration

Converse = Callable[..., list[Decision]]


@pytest.fixture(scope="module")
def converse(prepared_data_dir: Path, real_embedder: Embedder) -> Converse:
    """Plays user messages as one conversation through the demo engine and returns each turn's decision."""
    settings = Settings(data_dir=prepared_data_dir, build_on_start=False, log_json=False)
    content = ContentManager(settings, CachingEmbedder(real_embedder))
    content.prepare()
    engine = content.engine()

    def play(*texts: str) -> list[Decision]:
        state, decisions = DialogueState(), []
        for minute, text in enumerate(texts):
            turn = UserTurn(text, None, "free", "web", None, datetime(2026, 3, 2, 10, minute, tzinfo=UTC))
            decision, state = engine.decide(state, turn)
            decisions.append(decision)
        return decisions

    return play


def _offered(decision: Decision) -> set[str]:
    return {q.payload.removeprefix("faq:") for q in decision.quick_replies}


@pytest.mark.parametrize(
    ("topic", "reply", "meant"),
    [
        ("证书", "怎么查真假", "certificate-verify"),  # names no option: it asks what one of them answers
        ("优惠券", "怎么用不了", "coupon-not-applicable"),  # alone, it reads as a playback problem
    ],
)
def test_a_reply_to_which_one_in_the_users_own_words_gets_the_entry_it_means(
    converse: Converse, topic: str, reply: str, meant: str
) -> None:
    asked, answered = converse(topic, reply)

    assert asked.action == "clarify"
    assert meant in _offered(asked)
    assert (answered.action, answered.faq_id) == ("answer", meant)


def test_a_reply_narrowing_the_topic_beyond_the_options_gets_the_entry_it_means(converse: Converse) -> None:
    # "coupon" offers the entries on coupons that cannot be used; "expired" means the coupon-expiry entry instead.
    asked, answered = converse("coupon", "expired")

    assert asked.action == "clarify"
    assert "coupon-expiry" not in _offered(asked)
    assert (answered.action, answered.faq_id) == ("answer", "coupon-expiry")


def test_a_follow_up_naming_only_an_action_acts_on_the_topic(converse: Converse) -> None:
    # "能关掉吗" alone matches cancelling auto-renewal best; after the AI-training answer it means opting out.
    first, follow_up = converse("我的聊天记录会被拿去训练AI吗", "能关掉吗")

    assert (first.action, first.faq_id) == ("answer", "privacy-ai-training-optout")
    assert (follow_up.action, follow_up.faq_id) == ("answer", "privacy-ai-training-optout")


def test_an_english_topic_word_over_chinese_entries_asks_which_one(converse: Converse) -> None:
    # The demo FAQ has no English entry on points: "points" is as vague as "积分", so the user picks.
    (asked,) = converse("points")

    assert asked.action == "clarify"
    assert {"points-expiry", "points-earn-use"} <= _offered(asked)


def test_it_still_doesnt_work_repeats_the_answer_that_failed_and_offers_a_person(converse: Converse) -> None:
    # "doesnt work" alone matches the English coupon-not-working entry; the message names no coupon
    first, again = converse("my video keeps buffering", "still doesnt work")

    assert first.action == "answer"
    assert again.action == "answer"
    assert again.faq_id == first.faq_id
    assert "problem_persists" in again.trace.notes
    assert [q.payload for q in again.quick_replies] == ["handoff"]
