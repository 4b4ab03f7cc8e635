"""Dialogue state: JSON round trip, bounded history, malformed documents."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from assistant.dialogue import DialogueEngine, DialogueState, PendingClarification, TurnRecord
from assistant.dialogue.state import MAX_HISTORY, MAX_SENTIMENT, Candidate
from assistant.errors import InvalidInput
from tests.dialogue.fakes import Chat, FakeIntents, FakeKB


def test_json_round_trip_of_a_full_state() -> None:
    state = DialogueState(
        history=(TurnRecord("user", "我要退款"), TurnRecord("assistant", "课程还是会员？", "clarify", None, "refund")),
        last_faq_id="refund-course",
        last_category="refund",
        last_question="课程怎么退款",
        last_answered_at="2025-01-06T02:00:00+00:00",
        pending=PendingClarification(
            "disambiguation", "视频", candidates=(Candidate("a", "问题A", 0.6), Candidate("b", "问题B", 0.55))
        ),
        slots={"product_type": "course"},
        consecutive_fallbacks=2,
        sentiment=(-0.2, -0.7),
        tier="vip",
        locale="en",
        turn_count=7,
        handed_off=True,
        handoff_reason="negative_sentiment",
    )
    assert DialogueState.from_dict(json.loads(json.dumps(state.to_dict()))) == state


def test_round_trip_through_a_real_conversation(
    kb: FakeKB, intents: FakeIntents, make_engine: Callable[..., DialogueEngine]
) -> None:
    intents.script("我要退款", "refund_request")
    chat = Chat(make_engine())
    chat.say("我要退款")
    assert chat.state.pending is not None
    assert chat.state.pending.options == ("course", "membership")
    assert chat.say("课程").faq_id == "refund-course"


def test_history_and_sentiment_are_bounded() -> None:
    state = DialogueState()
    for i in range(30):
        state = state.with_history(TurnRecord("user", f"消息{i}" * 200)).with_sentiment(0.1 * (i % 3))
    assert len(state.history) == MAX_HISTORY
    assert state.history[-1].text.startswith("消息29")
    assert len(state.history[-1].text) <= 500
    assert len(state.sentiment) == MAX_SENTIMENT


def test_missing_keys_take_defaults_and_garbage_is_rejected() -> None:
    assert DialogueState.from_dict({}) == DialogueState()
    with pytest.raises(InvalidInput):
        DialogueState.from_dict({"history": [{"role": "robot", "text": "x"}]})
    with pytest.raises(InvalidInput):
        DialogueState.from_dict({"pending": {"kind": "slot", "candidates": [{"faq_id": "x"}]}})
    with pytest.raises(InvalidInput):
        DialogueState.from_dict({"turn_count": "many"})
