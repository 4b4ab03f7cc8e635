"""Decision rules: when a flow asks, when a reply answers a pending question or abandons it, vague topics, language."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from assistant.dialogue import DialogueEngine
from knowledge_base.models import FaqEntry
from tests.dialogue.fakes import Chat, FakeIntents, FakeKB

EngineFactory = Callable[..., DialogueEngine]

EN_REFUND = FaqEntry(
    "en-refund", "What is your refund policy?", "Courses: full refund within 7 days.", "refund", locale="en"
)
EN_AUTO = FaqEntry(
    "en-auto",
    "How do I cancel auto-renewal?",
    "Me → Membership → Renewal; iPhone: Settings.",
    "auto_renew",
    locale="en",
)
IOS_AUTO = FaqEntry("auto-ios", "苹果手机上怎么取消自动续费？", "在iPhone设置→Apple ID→订阅中取消。", "auto_renew")
CERTIFICATES = (
    FaqEntry("cert-get", "学完课程怎么获得证书？", "完成全部课时并通过结业测试后领取。", "certificate"),
    FaqEntry("cert-verify", "证书怎么验证真伪？", "在官网「证书查询」输入证书编号。", "certificate"),
    FaqEntry("cert-paper", "可以申请纸质证书吗？", "纸质证书15元包邮。", "certificate"),
    FaqEntry("cert-name", "证书上的名字写错了怎么改？", "在「我的证书」申请更正。", "certificate"),
    FaqEntry("speed", "可以倍速播放吗？", "播放器右下角可选0.75–2倍速。", "playback"),
)


@pytest.fixture
def refund(intents: FakeIntents) -> FakeIntents:
    intents.script("我要退款", "refund_request", 0.95)
    return intents


@pytest.fixture
def certificates(kb: FakeKB) -> FakeKB:
    kb.entries.update({e.id: e for e in CERTIFICATES})
    return kb


# -- replies to a pending question ---------------------------------------------------------------


def test_a_reply_naming_an_option_answers_whatever_the_classifier_makes_of_it(
    refund: FakeIntents, make_engine: EngineFactory
) -> None:
    # Alone, "会员" might read as anything (the demo classifier once took "个人" for "a person").
    refund.script("会员", "human_agent", 0.98)
    chat = Chat(make_engine())
    chat.say("我要退款")
    decision = chat.say("会员")
    assert decision.action == "answer"
    assert decision.faq_id == "refund-membership"


def test_an_explicit_request_during_a_clarification_still_hands_off(
    refund: FakeIntents, make_engine: EngineFactory
) -> None:
    chat = Chat(make_engine())
    chat.say("我要退款")
    assert chat.say("会员的事，转人工").handoff_reason == "explicit_request"


def test_a_short_question_of_another_kind_abandons_the_clarification(
    refund: FakeIntents, kb: FakeKB, make_engine: EngineFactory
) -> None:
    refund.script("发票怎么开", "invoice", 0.96)
    kb.script("发票怎么开", [("invoice", 0.9)])
    chat = Chat(make_engine())
    chat.say("我要退款")
    decision = chat.say("发票怎么开")
    assert decision.faq_id == "invoice"
    assert "clarification_abandoned" in decision.trace.notes
    assert chat.state.pending is None


def test_a_short_non_answer_that_happens_to_match_the_faq_is_asked_again(
    refund: FakeIntents, kb: FakeKB, make_engine: EngineFactory
) -> None:
    kb.script("不知道诶", [("refund-arrival", 0.9)])  # shares words with an entry; no intent of its own
    chat = Chat(make_engine())
    chat.say("我要退款")
    decision = chat.say("不知道诶")
    assert decision.action == "clarify"
    assert decision.text.startswith("抱歉，我没太明白。")


def test_a_question_of_another_kind_naming_an_option_is_answered_as_asked(
    refund: FakeIntents, kb: FakeKB, make_engine: EngineFactory
) -> None:
    refund.script("会员有哪些权益", "membership", 0.97)
    kb.script("会员有哪些权益", [("membership-benefits", 0.93)])
    chat = Chat(make_engine())
    chat.say("我要退款")
    assert chat.say("会员有哪些权益").faq_id == "membership-benefits"


def test_a_statement_naming_an_option_answers_the_question(
    refund: FakeIntents, kb: FakeKB, make_engine: EngineFactory
) -> None:
    refund.script("我买的是年卡", "membership", 0.7)
    kb.script("我买的是年卡", [("membership-benefits", 0.6)])
    chat = Chat(make_engine())
    chat.say("我要退款")
    assert chat.say("我买的是年卡").faq_id == "refund-membership"


def test_a_reply_narrowing_a_vague_question_down_is_answered(certificates: FakeKB, make_engine: EngineFactory) -> None:
    certificates.script("证书", [("cert-get", 0.6), ("cert-verify", 0.5), ("cert-paper", 0.4)])
    certificates.script("证书 名字写错了", [("cert-name", 0.9)])
    chat = Chat(make_engine())
    assert chat.say("证书").action == "clarify"
    decision = chat.say("名字写错了")
    assert decision.faq_id == "cert-name"
    assert "clarification_refined" in decision.trace.notes


def test_a_short_reply_to_which_entry_narrows_it_down_even_if_it_reads_as_another_kind(
    kb: FakeKB, intents: FakeIntents, make_engine: EngineFactory
) -> None:
    kb.script("会员", [("membership-benefits", 0.6), ("refund-membership", 0.55)])
    intents.script("价格", "coupon_payment", 0.4)  # alone, "价格" may read as anything
    kb.script("会员 价格", [("membership-benefits", 0.86)])
    chat = Chat(make_engine())
    assert chat.say("会员").action == "clarify"
    decision = chat.say("价格")
    assert decision.faq_id == "membership-benefits"
    # Read with the question, the reply names one of the offered entries: it picks that one.
    assert "chosen_by_meaning" in decision.trace.notes
    assert chat.state.pending is None


# -- whether a flow asks -------------------------------------------------------------------------


def test_a_question_landing_on_one_of_a_flows_entries_without_naming_it_is_asked_about(
    intents: FakeIntents, kb: FakeKB, make_engine: EngineFactory
) -> None:
    # The classifier reads "退款怎么弄" as a refund-status question, but the KB's best entry is one of the refund
    # flow's: which product is meant decides the answer, so the flow asks.
    intents.script("退款怎么弄", "refund_status", 0.8)
    kb.script("退款怎么弄", [("refund-course", 0.95)])
    decision = Chat(make_engine()).say("退款怎么弄")
    assert decision.action == "clarify"
    assert decision.text == "请问您要退款的是课程还是会员？"
    assert "flow_from_answer:refund_request" in decision.trace.notes
    # Naming the product answers at once.
    intents.script("课程退款怎么弄", "refund_status", 0.8)
    kb.script("课程退款怎么弄", [("refund-course", 0.95)])
    assert Chat(make_engine()).say("课程退款怎么弄").faq_id == "refund-course"


def test_a_follow_up_the_topic_resolves_to_a_flows_entry_is_answered(kb: FakeKB, make_engine: EngineFactory) -> None:
    kb.script("会员有哪些权益", [("membership-benefits", 0.9)])
    kb.script("能退吗", [("refund-course", 0.5)])
    kb.script("能退吗", [("refund-membership", 0.8)], context="会员有哪些权益")
    chat = Chat(make_engine())
    chat.say("会员有哪些权益")
    decision = chat.say("能退吗")
    assert decision.faq_id == "refund-membership"
    assert decision.trace.follow_up


def _script_refund_slot_probes(intents: FakeIntents, kb: FakeKB) -> None:
    """A refund request whose general entry matches, while each option completes it to the option's own entry."""
    intents.script("退款怎么弄", "refund_request", 0.95)
    kb.script("退款怎么弄", [("refund-arrival", 0.8)])
    kb.script("退款怎么弄 课程", [("refund-course", 0.8)])
    kb.script("退款怎么弄 会员", [("refund-membership", 0.75)])


def test_the_flow_asks_when_its_options_would_change_the_answer(
    intents: FakeIntents, kb: FakeKB, make_engine: EngineFactory
) -> None:
    # A general entry outside the flow matches, but the message completed by either option lands on the
    # option's own entry: the answer depends on the slot.
    _script_refund_slot_probes(intents, kb)
    decision = Chat(make_engine()).say("退款怎么弄")
    assert decision.action == "clarify"
    assert "slot_probe:2/2" in decision.trace.notes


def test_the_flow_steps_aside_when_its_options_change_nothing(
    intents: FakeIntents, kb: FakeKB, make_engine: EngineFactory
) -> None:
    intents.script("退款几天到", "refund_request", 0.95)
    kb.script("退款几天到", [("refund-arrival", 0.8)])
    kb.script("退款几天到 课程", [("refund-arrival", 0.8)])
    kb.script("退款几天到 会员", [("refund-membership", 0.5)])
    decision = Chat(make_engine()).say("退款几天到")
    assert decision.faq_id == "refund-arrival"
    assert "slot_probe:1/2" in decision.trace.notes
    assert "flow_skipped:refund_request" in decision.trace.notes


def test_a_why_about_the_answer_stays_on_its_entry(kb: FakeKB, make_engine: EngineFactory) -> None:
    kb.script("会员怎么退款", [("refund-membership", 0.9)])
    kb.script("为什么会这样", [("live-replay", 0.7)])  # words alone match something unrelated
    chat = Chat(make_engine())
    chat.say("会员怎么退款")
    decision = chat.say("为什么会这样")
    assert decision.faq_id == "refund-membership"
    assert "topic_repeated" in decision.trace.notes


def test_a_specific_message_the_options_only_drag_away_is_answered(
    intents: FakeIntents, kb: FakeKB, make_engine: EngineFactory
) -> None:
    # "退款被驳回了怎么办" plus "课程" lands on the course refund, but far less surely than the message alone
    # finds its own entry: the option's word outweighed the question instead of completing it.
    for text in ("退款被驳回了怎么办", "申请退款"):
        intents.script(text, "refund_request", 0.95)
        kb.script(text, [("refund-arrival", 0.8)])
        kb.script(f"{text} 课程", [("refund-course", 0.5)])
        kb.script(f"{text} 会员", [("refund-membership", 0.55)])
    decision = Chat(make_engine()).say("退款被驳回了怎么办")
    assert decision.faq_id == "refund-arrival"
    assert "slot_probe:0/2" in decision.trace.notes
    # A message naming nothing but the flow's topic is what the question is for: any option moving it counts.
    decision = Chat(make_engine()).say("申请退款")
    assert decision.action == "clarify"
    assert "slot_probe:2/2" in decision.trace.notes


def test_a_follow_up_on_the_topic_is_not_a_new_flow_request(
    intents: FakeIntents, kb: FakeKB, make_engine: EngineFactory
) -> None:
    # "怎么申请" after the membership answer asks about membership, whatever task the words alone suggest.
    kb.script("会员有哪些权益", [("membership-benefits", 0.9)])
    intents.script("怎么申请", "refund_request", 0.44)
    kb.script("怎么申请", [("invoice", 0.7)])
    kb.script("怎么申请", [("membership-benefits", 0.4)], context="会员有哪些权益")
    chat = Chat(make_engine())
    chat.say("会员有哪些权益")
    decision = chat.say("怎么申请")
    assert decision.faq_id == "membership-benefits"
    assert "flow_skipped:refund_request" in decision.trace.notes


def test_a_named_option_gives_way_to_a_clearly_better_entry_outside_the_flow(
    intents: FakeIntents, kb: FakeKB, make_engine: EngineFactory
) -> None:
    text = "忘了取消自动续费被扣了会员费，能退吗"
    kb.entries["refund-renewal"] = FaqEntry(
        "refund-renewal", "自动续费被扣款能退吗？", "48小时内可申请退还。", "refund"
    )
    intents.script(text, "refund_request", 0.9)
    kb.script(text, [("refund-renewal", 0.9), ("refund-membership", 0.4)])
    decision = Chat(make_engine()).say(text)
    assert decision.faq_id == "refund-renewal"
    assert "flow_skipped:refund_request" in decision.trace.notes


def test_a_named_option_beats_the_flows_other_entries(
    intents: FakeIntents, kb: FakeKB, make_engine: EngineFactory
) -> None:
    # The ranking prefers the course refund, but the user said membership: the curated synonym wins.
    intents.script("会员开了想退", "refund_request", 0.9)
    kb.script("会员开了想退", [("refund-course", 0.9), ("refund-membership", 0.3)])
    assert Chat(make_engine()).say("会员开了想退").faq_id == "refund-membership"


def test_english_speakers_get_the_english_entry_rather_than_the_flows_chinese_ones(
    intents: FakeIntents, kb: FakeKB, make_engine: EngineFactory
) -> None:
    kb.entries[EN_REFUND.id] = EN_REFUND
    intents.script("Can I get a refund for a course?", "refund_request", 0.95)
    kb.script("Can I get a refund for a course?", [("en-refund", 0.86), ("refund-course", 0.1)])
    decision = Chat(make_engine()).say("Can I get a refund for a course?")
    assert decision.faq_id == "en-refund"
    assert decision.text == EN_REFUND.answer
    # With nothing in English to answer from, the flow still asks, in English.
    intents.script("I want a refund", "refund_request", 0.95)
    asked = Chat(make_engine()).say("I want a refund")
    assert asked.action == "clarify"
    assert asked.text == "Is the refund for a course or a membership?"


def test_an_english_follow_up_stays_on_the_english_article_of_the_topic(kb: FakeKB, make_engine: EngineFactory) -> None:
    kb.entries.update({EN_AUTO.id: EN_AUTO, IOS_AUTO.id: IOS_AUTO})
    kb.script("How do I cancel auto-renewal?", [("en-auto", 0.9)])
    kb.script("what about on iPhone?", [("auto-ios", 0.7)], context=EN_AUTO.question)
    chat = Chat(make_engine())
    chat.say("How do I cancel auto-renewal?")
    decision = chat.say("what about on iPhone?")
    assert decision.faq_id == "en-auto"
    assert "topic_in_user_language" in decision.trace.notes
    # A Chinese speaker asking the same gets the Chinese entry.
    kb.script("怎么取消自动续费", [("en-auto", 0.9)])
    kb.script("那苹果手机呢", [("auto-ios", 0.8)], context=EN_AUTO.question)
    chinese = Chat(make_engine())
    chinese.say("怎么取消自动续费")
    assert chinese.say("那苹果手机呢").faq_id == "auto-ios"


# -- vague topics --------------------------------------------------------------------------------


def test_a_bare_topic_several_entries_share_is_asked_about(certificates: FakeKB, make_engine: EngineFactory) -> None:
    certificates.script("证书", [("cert-paper", 0.9), ("cert-get", 0.4), ("cert-verify", 0.3), ("speed", 0.2)])
    chat = Chat(make_engine())
    decision = chat.say("证书")
    assert decision.action == "clarify"
    assert [q.payload for q in decision.quick_replies] == ["faq:cert-paper", "faq:cert-get", "faq:cert-verify"]
    assert "bare_topic:证书" in decision.trace.notes
    assert chat.say(quick_reply="faq:cert-verify").faq_id == "cert-verify"


def test_a_message_naming_only_a_shared_topic_and_a_vague_word_is_asked_about(
    certificates: FakeKB, make_engine: EngineFactory
) -> None:
    # "证书有问题" says something is wrong with a certificate, not what: the best entry would be a guess.
    certificates.script("证书有问题", [("cert-paper", 0.9), ("cert-get", 0.4), ("speed", 0.2)])
    decision = Chat(make_engine()).say("证书有问题")
    assert decision.action == "clarify"
    assert "bare_topic:证书" in decision.trace.notes
    # Saying what is wrong is a question the entry answers.
    certificates.script("证书上名字错了", [("cert-paper", 0.9), ("cert-get", 0.4)])
    assert Chat(make_engine()).say("证书上名字错了").faq_id == "cert-paper"


def test_a_bare_english_topic_over_chinese_entries_is_asked_about(
    certificates: FakeKB, make_engine: EngineFactory
) -> None:
    # No Chinese question contains "certificate": the entries it names are the top hit's kind close enough to offer.
    certificates.script("certificate", [("cert-paper", 0.9), ("cert-get", 0.6), ("cert-verify", 0.55), ("speed", 0.52)])
    decision = Chat(make_engine()).say("certificate")
    assert decision.action == "clarify"
    assert [q.payload for q in decision.quick_replies] == ["faq:cert-paper", "faq:cert-get", "faq:cert-verify"]
    # Only one close entry of that kind: the word names it.
    certificates.script("certificate", [("cert-paper", 0.9), ("cert-get", 0.3), ("speed", 0.52)])
    assert Chat(make_engine()).say("certificate").faq_id == "cert-paper"


def test_a_bare_word_only_one_entry_names_is_answered(certificates: FakeKB, make_engine: EngineFactory) -> None:
    certificates.script("倍速", [("speed", 0.9), ("cert-get", 0.1)])
    assert Chat(make_engine()).say("倍速").faq_id == "speed"


def test_a_bare_topic_a_flow_tells_apart_gets_the_flows_question(kb: FakeKB, make_engine: EngineFactory) -> None:
    kb.script("退款", [("refund-course", 0.95), ("refund-membership", 0.3), ("refund-arrival", 0.2)])
    decision = Chat(make_engine()).say("退款")
    assert decision.action == "clarify"
    assert decision.text == "请问您要退款的是课程还是会员？"


def test_a_bare_topic_within_the_conversations_topic_is_answered(
    certificates: FakeKB, make_engine: EngineFactory
) -> None:
    certificates.script("学完课程怎么拿证书", [("cert-get", 0.9)])
    certificates.script("证书呢", [("cert-paper", 0.7), ("cert-get", 0.65), ("cert-verify", 0.6)])
    chat = Chat(make_engine())
    chat.say("学完课程怎么拿证书")
    assert chat.say("证书呢").action == "answer"


# -- escalation ----------------------------------------------------------------------------------


def test_an_upset_message_the_assistant_cannot_answer_goes_to_a_person(make_engine: EngineFactory) -> None:
    decision = Chat(make_engine()).say("还是卡，气死我了，什么破app")
    assert decision.action == "handoff"
    assert decision.handoff_reason == "negative_sentiment"


def test_a_calm_message_the_assistant_cannot_answer_is_a_fallback(make_engine: EngineFactory) -> None:
    assert Chat(make_engine()).say("还是不行，怎么办").action == "fallback"


def test_the_slot_probes_are_one_batched_search(intents: FakeIntents, kb: FakeKB, make_engine: EngineFactory) -> None:
    _script_refund_slot_probes(intents, kb)
    decision = Chat(make_engine()).say("退款怎么弄")
    assert decision.action == "clarify"
    assert kb.batches == 1  # the message's own search, then both probes in one batch
    assert [c.query for c in kb.calls] == ["退款怎么弄", "退款怎么弄 课程", "退款怎么弄 会员"]


def test_a_flow_intent_follow_up_the_topic_resolves_is_answered_not_asked(
    intents: FakeIntents, kb: FakeKB, make_engine: EngineFactory
) -> None:
    # "能退吗" reads as a refund request, but after the membership benefits the follow-up reading is sure it is
    # the membership refund: asking "课程还是会员？" would ignore what was just said.
    intents.script("能退吗", "refund_request", 0.95)
    kb.script("会员有哪些权益", [("membership-benefits", 0.9)])
    kb.script("能退吗", [("refund-membership", 0.3)])
    kb.script("能退吗", [("refund-membership", 0.8)], context="会员有哪些权益")
    chat = Chat(make_engine())
    chat.say("会员有哪些权益")
    decision = chat.say("能退吗")
    assert decision.action == "answer"
    assert decision.faq_id == "refund-membership"
    assert "flow_skipped:refund_request" in decision.trace.notes
