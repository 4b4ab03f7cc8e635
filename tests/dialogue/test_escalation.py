"""Escalation triggers from the policy, each with its recorded reason, and business hours."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time

import pytest

from assistant.dialogue import DialogueEngine, Policy
from assistant.dialogue.escalation import asks_about_service
from assistant.dialogue.policy import BusinessHours, HandoffPolicy, HighStakesRule, SentimentRule
from knowledge_base.models import FaqEntry
from tests.dialogue.fakes import CLOSED_NOW, Chat, FakeIntents, FakeKB

EngineFactory = Callable[..., DialogueEngine]


@pytest.mark.parametrize("text", ["转人工", "帮我转人工客服吧", "I want to talk to a person", "能找人工吗"])
def test_explicit_phrases_hand_off(text: str, make_engine: EngineFactory) -> None:
    chat = Chat(make_engine())
    decision = chat.say(text)
    assert decision.action == "handoff"
    assert decision.handoff_reason == "explicit_request"
    assert decision.agents_available
    assert chat.state.handed_off
    assert chat.state.handoff_reason == "explicit_request"


def test_negated_phrases_do_not_hand_off(make_engine: EngineFactory) -> None:
    assert Chat(make_engine()).say("不用转人工，我自己看看").action == "fallback"
    assert Chat(make_engine()).say("no need to talk to a person").action == "fallback"


def test_human_agent_intent_and_the_widget_button_hand_off(intents: FakeIntents, make_engine: EngineFactory) -> None:
    intents.script("能让客服小姐姐来回答吗", "human_agent", 0.8)
    assert Chat(make_engine()).say("能让客服小姐姐来回答吗").handoff_reason == "explicit_request"
    button = Chat(make_engine()).say(quick_reply="handoff")
    assert button.action == "handoff"
    assert button.handoff_reason == "explicit_request"


def test_two_fallbacks_then_the_third_unanswerable_turn_hands_off(make_engine: EngineFactory) -> None:
    chat = Chat(make_engine())
    assert chat.say("哈哈哈哈哈哈").action == "fallback"
    assert chat.say("随便问问而已").action == "fallback"
    third = chat.say("还是不知道")
    assert third.action == "handoff"
    assert third.handoff_reason == "repeated_failure"
    assert chat.state.consecutive_fallbacks == 0


def test_fallback_limit_comes_from_policy(make_engine: EngineFactory) -> None:
    strict = Policy(handoff=HandoffPolicy(max_consecutive_fallbacks=0))
    assert Chat(make_engine(policy=strict)).say("哈哈哈哈哈哈").handoff_reason == "repeated_failure"


def test_sustained_negative_sentiment_hands_off(kb: FakeKB, make_engine: EngineFactory) -> None:
    kb.script("你们这个破课真是垃圾，怎么开发票", [("invoice", 0.8)])
    kb.script("垃圾平台，发票到底怎么开！", [("invoice", 0.8)])
    chat = Chat(make_engine())
    first = chat.say("你们这个破课真是垃圾，怎么开发票")
    assert first.action == "answer"  # one angry message: answered, with an apology
    assert first.text.startswith("非常抱歉")
    second = chat.say("垃圾平台，发票到底怎么开！")
    assert second.action == "handoff"
    assert second.handoff_reason == "negative_sentiment"
    assert second.trace.sentiment <= -0.6


def test_furious_message_hands_off_at_once(make_engine: EngineFactory) -> None:
    decision = Chat(make_engine()).say("骗子！垃圾平台！气死我了！！")
    assert decision.handoff_reason == "negative_sentiment"


def test_sentiment_rule_comes_from_policy(make_engine: EngineFactory) -> None:
    lenient = Policy(handoff=HandoffPolicy(negative_sentiment=SentimentRule(-0.99, 3, None)))
    assert Chat(make_engine(policy=lenient)).say("骗子！垃圾平台！气死我了！！").action == "fallback"


def test_angry_complaint_hands_off(intents: FakeIntents, make_engine: EngineFactory) -> None:
    intents.script("我要投诉你们的客服态度", "complaint", 0.9)
    decision = Chat(make_engine()).say("我要投诉你们的客服态度")
    assert decision.action == "handoff"
    assert decision.handoff_reason == "complaint"
    off = Policy(handoff=HandoffPolicy(complaint_hands_off=False))
    assert Chat(make_engine(policy=off)).say("我要投诉你们的客服态度").action == "fallback"


def test_a_sure_complaint_without_angry_words_hands_off(intents: FakeIntents, make_engine: EngineFactory) -> None:
    # no word of the sentiment lexicon, but the classifier is sure it is a complaint
    text = "third time you took money after i cancelled, reporting this to my bank"
    intents.script(text, "complaint", 0.95)
    assert Chat(make_engine()).say(text).action == "handoff"
    intents.script(text, "complaint", 0.7)  # a less sure reading needs negative feeling as well
    assert Chat(make_engine()).say(text).action != "handoff"
    asking = "老师讲得太慢了 能快进着听吗"  # complaint-like, but a question the FAQ may answer
    intents.script(asking, "complaint", 0.95)
    assert Chat(make_engine()).say(asking).action != "handoff"


@pytest.fixture
def unsure_refund(intents: FakeIntents, kb: FakeKB) -> None:
    intents.script("钱什么时候能回来", "refund_status", 0.45)
    kb.script("钱什么时候能回来", [("refund-arrival", 0.4)])


@pytest.mark.usefixtures("unsure_refund")
@pytest.mark.parametrize(("tier", "action"), [("vip", "handoff"), ("member", "handoff"), ("free", "fallback")])
def test_uncertain_money_questions_from_paid_tiers_go_to_a_person(
    tier: str, action: str, make_engine: EngineFactory
) -> None:
    decision = Chat(make_engine(), tier=tier).say("钱什么时候能回来")
    assert decision.action == action
    if action == "handoff":
        assert decision.handoff_reason == "high_stakes_low_confidence"


@pytest.mark.usefixtures("unsure_refund")
def test_high_stakes_rule_can_be_disabled(make_engine: EngineFactory) -> None:
    off = Policy(handoff=HandoffPolicy(high_stakes=HighStakesRule(enabled=False)))
    assert Chat(make_engine(policy=off), tier="vip").say("钱什么时候能回来").action == "fallback"


def test_confident_money_questions_are_answered(intents: FakeIntents, kb: FakeKB, make_engine: EngineFactory) -> None:
    intents.script("退款多久能到账", "refund_status", 0.95)
    kb.script("退款多久能到账", [("refund-arrival", 0.9)])
    assert Chat(make_engine(), tier="vip").say("退款多久能到账").action == "answer"


@pytest.mark.parametrize(("tier", "action"), [("vip", "handoff"), ("member", "handoff"), ("free", "answer")])
def test_an_upset_paying_user_with_a_money_matter_goes_to_a_person_at_once(
    tier: str, action: str, intents: FakeIntents, kb: FakeKB, make_engine: EngineFactory
) -> None:
    angry = "扣了我两次钱还不给退，太过分了！"
    intents.script(angry, "refund_request", 0.95)
    kb.script(angry, [("refund-arrival", 0.9)])
    decision = Chat(make_engine(), tier=tier).say(angry)
    assert decision.action == action
    if action == "handoff":
        assert decision.handoff_reason == "negative_sentiment"
    # The same money question asked calmly is answered, whatever the tier.
    intents.script("扣了两次钱，能退吗", "refund_request", 0.95)
    kb.script("扣了两次钱，能退吗", [("refund-arrival", 0.9)])
    assert Chat(make_engine(), tier=tier).say("扣了两次钱，能退吗").action == "answer"


def test_outside_business_hours_the_handoff_says_agents_are_offline(make_engine: EngineFactory) -> None:
    decision = Chat(make_engine(), now=CLOSED_NOW).say("转人工")
    assert decision.action == "handoff"
    assert not decision.agents_available
    assert "09:00-22:00" in decision.text
    assert "留下" in decision.text


def test_outside_business_hours_fallback_mentions_leaving_a_message(make_engine: EngineFactory) -> None:
    decision = Chat(make_engine(), now=CLOSED_NOW).say("what is the meaning of life")
    assert decision.action == "fallback"
    assert not decision.agents_available
    assert "leave them a message" in decision.text


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (datetime(2025, 1, 6, 1, 0, tzinfo=UTC), True),  # Mon 09:00 Shanghai
        (datetime(2025, 1, 6, 0, 59, tzinfo=UTC), False),  # Mon 08:59
        (datetime(2025, 1, 6, 14, 0, tzinfo=UTC), False),  # Mon 22:00, closed
        (datetime(2025, 1, 6, 1, 0), True),  # naive is UTC
    ],
)
def test_business_hours_window(moment: datetime, expected: bool) -> None:
    assert BusinessHours().is_open(moment) is expected


def test_business_hours_days_and_overnight_windows() -> None:
    weekdays = BusinessHours(days=("mon", "tue", "wed", "thu", "fri"))
    saturday_noon = datetime(2025, 1, 11, 4, 0, tzinfo=UTC)
    assert not weekdays.is_open(saturday_noon)
    night = BusinessHours(timezone="UTC", days=("fri",), open=time(20, 0), close=time(2, 0))
    assert night.is_open(datetime(2025, 1, 10, 23, 0, tzinfo=UTC))  # Friday night
    assert night.is_open(datetime(2025, 1, 11, 1, 0, tzinfo=UTC))  # Saturday early: Friday's shift
    assert not night.is_open(datetime(2025, 1, 11, 23, 0, tzinfo=UTC))
    assert BusinessHours(timezone="UTC", open=time(0, 0), close=None).is_open(datetime(2025, 1, 6, 23, 59))


CONTACT = FaqEntry(
    "customer-service-contact", "怎么联系人工客服？客服几点上班？", "人工客服每天9:00–22:00在线。", "support"
)


@pytest.mark.parametrize(
    "text", ["人工客服几点上班", "有电话客服吗", "请问晚上有人工客服吗", "what are the human agent hours?"]
)
def test_questions_about_the_human_service_are_answered(
    text: str, kb: FakeKB, intents: FakeIntents, make_engine: EngineFactory
) -> None:
    kb.entries[CONTACT.id] = CONTACT
    kb.script(text, [(CONTACT.id, 0.9)])
    intents.script(text, "human_agent", 0.95)
    chat = Chat(make_engine())
    decision = chat.say(text)
    assert decision.action == "answer"
    assert decision.faq_id == CONTACT.id
    assert "question_about_agents" in decision.trace.notes
    assert not chat.state.handed_off


def test_a_question_about_the_service_the_faq_cannot_answer_still_hands_off(
    intents: FakeIntents, make_engine: EngineFactory
) -> None:
    intents.script("人工客服几点上班", "human_agent", 0.95)
    assert Chat(make_engine()).say("人工客服几点上班").handoff_reason == "explicit_request"


@pytest.mark.parametrize(
    "text", ["人工客服", "人工客服！", "我要找人工客服", "能找人工吗", "可以人工服务吗", "human agent please"]
)
def test_requests_for_a_person_hand_off_even_when_the_faq_matches(
    text: str, kb: FakeKB, make_engine: EngineFactory
) -> None:
    kb.entries[CONTACT.id] = CONTACT
    kb.script(text, [(CONTACT.id, 0.9)])
    assert Chat(make_engine()).say(text).handoff_reason == "explicit_request"


@pytest.mark.parametrize(
    ("text", "question"),
    [
        ("人工客服几点上班", True),
        ("有电话客服吗", True),
        ("How do I reach a human agent?", True),
        ("转人工", False),
        ("人工客服！！", False),
        ("帮我转人工客服吧", False),
        ("I want to talk to a person", False),
        ("客服在吗 要人工的", False),
        ("可以人工服务吗", False),
        ("人工客服可以打电话吗", True),
    ],
)
def test_asks_about_service(text: str, question: bool) -> None:
    assert asks_about_service(text, HandoffPolicy().explicit_phrases) == question


def test_a_request_only_the_classifier_reads_yields_to_a_surer_faq_answer(
    kb: FakeKB, intents: FakeIntents, make_engine: EngineFactory
) -> None:
    # "有没有人督促我学习" asks whether someone supervises study, not for a person now: the FAQ is the likelier reading.
    kb.script("有没有人督促我每天学习", [("invoice", 0.7)])
    intents.script("有没有人督促我每天学习", "human_agent", 0.6)
    chat = Chat(make_engine())
    decision = chat.say("有没有人督促我每天学习")
    assert decision.action == "answer"
    assert decision.faq_id == "invoice"
    assert not chat.state.handed_off


def test_a_confident_request_or_a_policy_phrase_still_hands_off_beside_an_faq_answer(
    kb: FakeKB, intents: FakeIntents, make_engine: EngineFactory
) -> None:
    kb.script("能找个人跟我说说发票吗", [("invoice", 0.7)])
    intents.script("能找个人跟我说说发票吗", "human_agent", 0.9)
    assert Chat(make_engine()).say("能找个人跟我说说发票吗").handoff_reason == "explicit_request"
    kb.script("发票的事转人工", [("invoice", 0.95)])
    intents.script("发票的事转人工", "invoice", 0.5)
    assert Chat(make_engine()).say("发票的事转人工").handoff_reason == "explicit_request"
