"""A report that the problem just answered persists is a follow-up on that answer, not a complaint or a new question."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from assistant.dialogue import DialogueEngine
from assistant.dialogue.decision import HANDOFF_PAYLOAD
from assistant.dialogue.persistence import names_nothing_else, reports_persisting_problem
from tests.dialogue.fakes import Chat, FakeIntents, FakeKB

EngineFactory = Callable[..., DialogueEngine]


@pytest.mark.parametrize(
    ("text", "persists"),
    [
        ("已经等了半小时了", True),
        ("换了网络也还是卡", True),
        ("试了还是没用", True),
        ("it still doesn't work", True),
        ("个人还是单位？", False),  # a choice, asked
        ("还是不能退吗", False),  # a question of its own
        ("我买的是年卡", False),
        ("好的谢谢", False),
    ],
)
def test_reports_persisting_problem(text: str, persists: bool) -> None:
    assert reports_persisting_problem(text) is persists


@pytest.fixture
def after_refund_answer(kb: FakeKB, make_engine: EngineFactory) -> Chat:
    kb.script("课程怎么退", [("refund-course", 0.92)])
    chat = Chat(make_engine())
    assert chat.say("课程怎么退").faq_id == "refund-course"
    return chat


def test_a_persisting_problem_gets_the_last_answer_again(after_refund_answer: Chat) -> None:
    decision = after_refund_answer.say("已经等了半小时了")  # found nothing of its own: alone it would fall back
    assert decision.action == "answer"
    assert decision.faq_id == "refund-course"
    assert "problem_persists" in decision.trace.notes


def test_a_calm_persisting_problem_is_not_handed_off_as_a_complaint(
    after_refund_answer: Chat, intents: FakeIntents
) -> None:
    intents.script("已经过了一个小时了还没好", "complaint", 0.6)
    decision = after_refund_answer.say("已经过了一个小时了还没好")
    assert decision.action == "answer"
    assert decision.faq_id == "refund-course"


def test_an_angry_persisting_problem_still_goes_to_a_person(after_refund_answer: Chat, intents: FakeIntents) -> None:
    intents.script("垃圾平台，太坑了，还是不行", "complaint", 0.9)
    assert after_refund_answer.say("垃圾平台，太坑了，还是不行").action == "handoff"


def test_a_persisting_problem_the_faq_answers_elsewhere_gets_that_answer(after_refund_answer: Chat, kb: FakeKB) -> None:
    kb.script("还是收不到发票", [("invoice", 0.8)])
    assert after_refund_answer.say("还是收不到发票").faq_id == "invoice"


def test_without_an_answer_before_it_there_is_nothing_to_repeat(kb: FakeKB, make_engine: EngineFactory) -> None:
    assert Chat(make_engine()).say("已经等了半小时了").action == "fallback"


def test_a_statement_naming_something_the_topic_answers_elsewhere_is_not_a_repeat(
    after_refund_answer: Chat, kb: FakeKB
) -> None:
    # "已经换了新卡了" sounds like "still waiting", but read with the refund topic it surely asks about the refund's
    # arrival: a new fact, not the old problem.
    kb.script("已经换了新卡了", [("refund-arrival", 0.3)])
    kb.script("已经换了新卡了", [("refund-arrival", 0.7)], context="课程怎么退款")
    decision = after_refund_answer.say("已经换了新卡了")
    assert decision.faq_id == "refund-arrival"
    assert "problem_persists" not in decision.trace.notes


@pytest.mark.parametrize(
    ("text", "nothing_else"),
    [
        ("it still doesnt work", True),
        ("还是不行", True),
        ("试了还是没用", True),
        ("still can't log in", False),  # names what fails
        ("还是收不到发票", False),
        ("已经换了新卡了", False),  # a new fact inside "已经…了"
    ],
)
def test_names_nothing_else(text: str, nothing_else: bool) -> None:
    assert names_nothing_else(text) is nothing_else


def test_a_bare_no_effect_report_is_not_taken_for_the_entry_its_predicate_matches(
    after_refund_answer: Chat, kb: FakeKB
) -> None:
    # its predicate alone matched another entry (as "doesn't work" matches "my coupon isn't working"): it names none
    kb.script("it still doesnt work", [("live-replay", 0.8)])
    decision = after_refund_answer.say("it still doesnt work")
    assert decision.faq_id == "refund-course"
    assert "problem_persists" in decision.trace.notes


def test_a_repeated_answer_apologises_and_offers_a_person(after_refund_answer: Chat) -> None:
    first = after_refund_answer.decisions[-1]
    decision = after_refund_answer.say("已经等了半小时了")
    assert decision.faq_id == "refund-course"
    assert decision.text.startswith("非常抱歉")
    assert not first.text.startswith("非常抱歉")
    assert [q.payload for q in decision.quick_replies] == [HANDOFF_PAYLOAD]
    assert not first.quick_replies
