"""Follow-up questions resolved with the previous topic, and the same turns without context."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from assistant.dialogue import DialogueEngine
from assistant.dialogue.context import content_words, follow_up_kind, names_only_actions
from tests.dialogue.fakes import OPEN_NOW, Chat, FakeKB

EngineFactory = Callable[..., DialogueEngine]
TOPIC = "课程怎么退款"  # the question of the FAQ entry answered first


@pytest.fixture
def refund_chat(kb: FakeKB, make_engine: EngineFactory) -> Callable[..., Chat]:
    kb.script("课程怎么退", [("refund-course", 0.92)])
    # Alone, "那会员呢？" looks like a question about membership benefits; after the course refund it is not.
    kb.script("那会员呢？", [("membership-benefits", 0.66)])
    kb.script("那会员呢？", [("refund-membership", 0.81), ("membership-benefits", 0.3)], context=TOPIC)
    kb.script("what about membership?", [("refund-membership", 0.74)], context=TOPIC)
    kb.script("多久到账", [("refund-arrival", 0.83)], context=TOPIC)
    kb.script("多久到账", [("refund-arrival", 0.41)])

    def start(**options: object) -> Chat:
        chat = Chat(make_engine(**options))
        assert chat.say("课程怎么退").faq_id == "refund-course"
        return chat

    return start


def test_elliptical_follow_up_carries_the_topic(refund_chat: Callable[..., Chat], kb: FakeKB) -> None:
    decision = refund_chat().say("那会员呢？")
    assert decision.action == "answer"
    assert decision.faq_id == "refund-membership"
    assert decision.trace.follow_up
    assert any(q.context == TOPIC and q.chosen for q in decision.trace.queries)
    assert kb.calls[-1].context == TOPIC


def test_without_context_the_same_follow_up_is_read_alone(refund_chat: Callable[..., Chat], kb: FakeKB) -> None:
    decision = refund_chat(use_context=False).say("那会员呢？")
    assert decision.faq_id == "membership-benefits"
    assert not decision.trace.follow_up
    assert all(call.context is None for call in kb.calls)


def test_english_follow_up(refund_chat: Callable[..., Chat]) -> None:
    decision = refund_chat().say("what about membership?")
    assert decision.faq_id == "refund-membership"
    assert decision.locale == "en"


def test_terse_question_unanswerable_alone_is_completed_by_the_topic(refund_chat: Callable[..., Chat]) -> None:
    assert refund_chat().say("多久到账").faq_id == "refund-arrival"
    assert refund_chat(use_context=False).say("多久到账").action == "fallback"


def test_follow_up_after_a_chain_uses_the_latest_topic(refund_chat: Callable[..., Chat], kb: FakeKB) -> None:
    chat = refund_chat()
    chat.say("那会员呢？")
    kb.script("多久到账", [("refund-arrival", 0.8)], context="会员怎么退款")
    assert chat.say("多久到账").faq_id == "refund-arrival"
    assert kb.calls[-1].context == "会员怎么退款"


def test_a_self_contained_question_surer_alone_ignores_the_topic(refund_chat: Callable[..., Chat], kb: FakeKB) -> None:
    kb.script("直播课程结束以后在哪里看回放", [("live-replay", 0.9)])
    kb.script("直播课程结束以后在哪里看回放", [("refund-arrival", 0.55), ("live-replay", 0.5)], context=TOPIC)
    chat = refund_chat()
    calls_before = len(kb.calls)
    decision = chat.say("直播课程结束以后在哪里看回放")
    assert decision.faq_id == "live-replay"
    assert not decision.trace.follow_up
    # Both readings were tried; the calibrated scores decided.
    assert [c.context for c in kb.calls[calls_before:]] == [None, TOPIC]


def test_a_long_question_the_topic_completes_takes_the_surer_follow_up_reading(
    refund_chat: Callable[..., Chat], kb: FakeKB
) -> None:
    # Alone, "申请通过以后钱大概几天能回到账户里" looks like an invoice question; after a refund it is not.
    text = "申请通过以后钱大概几天能回到账户里"
    kb.script(text, [("invoice", 0.55)])  # answerable alone, but less surely than with the topic
    kb.script(text, [("refund-arrival", 0.8), ("invoice", 0.1)], context=TOPIC)
    decision = refund_chat().say(text)
    assert decision.faq_id == "refund-arrival"
    assert decision.trace.follow_up


def test_the_follow_up_reading_cannot_lift_an_unrelated_entry(refund_chat: Callable[..., Chat], kb: FakeKB) -> None:
    # The topic made an off-topic entry look answerable; the message alone finds nothing: a fallback.
    kb.script("你们老板是谁", [("video-download", 0.1)])
    kb.script("你们老板是谁", [("video-download", 0.6)], context=TOPIC)
    assert refund_chat().say("你们老板是谁").action == "fallback"


def test_a_follow_up_naming_a_new_thing_may_leave_the_category(refund_chat: Callable[..., Chat], kb: FakeKB) -> None:
    # "那发票呢" after a refund asks the same about invoices: the follow-up reading names what the message names.
    kb.script("那发票呢", [("invoice", 0.45), ("refund-course", 0.42)])
    kb.script("那发票呢", [("invoice", 0.85)], context=TOPIC)
    decision = refund_chat().say("那发票呢")
    assert decision.action == "answer"
    assert decision.faq_id == "invoice"


def test_an_old_topic_is_not_context(refund_chat: Callable[..., Chat]) -> None:
    chat = refund_chat()
    decision = chat.say("那会员呢？", now=OPEN_NOW + timedelta(hours=3))
    assert decision.faq_id == "membership-benefits"


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("那会员呢？", "anaphoric"),
        ("what about membership?", "anaphoric"),
        ("How long does it take?", "anaphoric"),
        ("这个能退吗", "anaphoric"),
        ("多久到账", "short"),
        ("refund time", "short"),
        ("请问直播课程结束以后在哪里可以看回放", None),
        ("How do I download course videos to my phone for offline viewing", None),
    ],
)
def test_follow_up_kind(text: str, kind: str | None) -> None:
    assert follow_up_kind(text) == kind


@pytest.mark.parametrize(
    ("text", "own"),
    [
        ("要多久", []),
        ("怎么申请", []),
        ("过期了呢", ["过期"]),
        ("how long does it take?", []),
        ("发票呢", ["发票"]),
        ("为什么会这样", []),  # a reference names the topic already answered, not a new one
    ],
)
def test_content_words_drop_question_and_function_words(text: str, own: list[str]) -> None:
    assert content_words(text) == own


def test_generic_follow_up_stays_on_the_topic_over_an_unrelated_plain_hit(
    refund_chat: Callable[..., Chat], kb: FakeKB
) -> None:
    kb.script("要多久", [("live-replay", 0.8)])
    kb.script("要多久", [("live-replay", 0.7), ("refund-arrival", 0.4)], context=TOPIC)
    decision = refund_chat().say("要多久")
    assert decision.faq_id == "refund-arrival"
    assert decision.trace.follow_up
    assert "topic_kept" in decision.trace.notes
    assert refund_chat(use_context=False).say("要多久").faq_id == "live-replay"


def test_a_follow_up_naming_a_new_topic_leaves_the_old_one(refund_chat: Callable[..., Chat], kb: FakeKB) -> None:
    kb.script("发票呢", [("invoice", 0.9)])
    kb.script("发票呢", [("invoice", 0.8), ("refund-arrival", 0.45)], context=TOPIC)
    assert refund_chat().say("发票呢").faq_id == "invoice"


def test_a_follow_up_naming_nothing_is_about_the_last_answer(refund_chat: Callable[..., Chat], kb: FakeKB) -> None:
    kb.script("怎么操作", [("invoice", 0.7)])
    kb.script("怎么操作", [("invoice", 0.6)], context=TOPIC)
    decision = refund_chat().say("怎么操作")
    assert decision.faq_id == "refund-course"
    assert "topic_repeated" in decision.trace.notes


def test_english_generic_follow_up_stays_on_the_topic(refund_chat: Callable[..., Chat], kb: FakeKB) -> None:
    kb.script("how long does it take?", [("app-download", 0.7)])
    kb.script("how long does it take?", [("app-download", 0.55), ("refund-arrival", 0.35)], context=TOPIC)
    decision = refund_chat().say("how long does it take?")
    assert decision.faq_id == "refund-arrival"
    assert decision.locale == "en"


def test_the_topic_settles_close_candidates_of_a_generic_follow_up(
    refund_chat: Callable[..., Chat], kb: FakeKB
) -> None:
    # Alone, "到账呢" is torn between two entries; the refund topic says which one is meant.
    kb.script("到账呢", [("refund-arrival", 0.5), ("membership-benefits", 0.47)])
    kb.script("到账呢", [("refund-arrival", 0.45), ("membership-benefits", 0.44)], context=TOPIC)
    decision = refund_chat().say("到账呢")
    assert decision.action == "answer"
    assert decision.faq_id == "refund-arrival"
    assert "topic_kept" in decision.trace.notes


def test_both_readings_of_a_follow_up_cost_one_batched_search(refund_chat: Callable[..., Chat], kb: FakeKB) -> None:
    chat = refund_chat()
    batches = kb.batches
    assert chat.say("多久到账").faq_id == "refund-arrival"
    assert kb.batches == batches + 1  # plain and follow-up readings searched together


def test_a_follow_up_naming_only_an_action_stays_on_the_last_answer(
    refund_chat: Callable[..., Chat], kb: FakeKB
) -> None:
    # "怎么撤销" names no new thing: neither reading is sure, and alone it drifts to an unrelated entry.
    kb.script("怎么撤销", [("invoice", 0.6)])
    kb.script("怎么撤销", [("invoice", 0.2)], context=TOPIC)
    decision = refund_chat().say("怎么撤销")
    assert decision.faq_id == "refund-course"
    assert "topic_repeated" in decision.trace.notes


def test_an_action_follow_up_whose_readings_leave_the_topic_stays_on_the_last_answer(
    kb: FakeKB, make_engine: EngineFactory
) -> None:
    # "多久能收到" after the invoice answer: both readings are sure of the refund's arrival time, which matched
    # the verb; the conversation, not the verb, says what is to be received.
    kb.script("怎么开发票", [("invoice", 0.9)])
    kb.script("多久能收到", [("refund-arrival", 0.7)])
    kb.script("多久能收到", [("refund-arrival", 0.6)], context="怎么开发票")
    chat = Chat(make_engine())
    chat.say("怎么开发票")
    decision = chat.say("多久能收到")
    assert decision.faq_id == "invoice"
    assert "topic_repeated" in decision.trace.notes
    # Without a conversation the same words still find the refund's arrival time.
    assert Chat(make_engine()).say("多久能收到").faq_id == "refund-arrival"


def test_an_action_only_follow_up_takes_its_object_from_the_topic(kb: FakeKB, make_engine: EngineFactory) -> None:
    # "能缓存吗" after the live-replay answer: the verb alone matches the app download more strongly, but a sure
    # reading with the topic says what is to be stored (the entry's question does not even use the word).
    kb.script("直播课怎么看回放", [("live-replay", 0.9)])
    kb.script("能缓存吗", [("app-download", 0.8)])
    kb.script("能缓存吗", [("video-download", 0.6)], context="直播课怎么看回放")
    chat = Chat(make_engine())
    chat.say("直播课怎么看回放")
    assert chat.say("能缓存吗").faq_id == "video-download"
    assert Chat(make_engine()).say("能缓存吗").faq_id == "app-download"


def test_a_follow_up_naming_a_thing_is_not_forced_onto_the_last_answer(
    refund_chat: Callable[..., Chat], kb: FakeKB
) -> None:
    kb.script("那发票呢", [("invoice", 0.6)])
    kb.script("那发票呢", [("invoice", 0.2)], context=TOPIC)
    assert refund_chat().say("那发票呢").faq_id == "invoice"


@pytest.mark.parametrize(
    ("text", "actions_only"),
    [
        ("怎么关掉", True),
        ("为什么会被拒", True),
        ("改完要多久", True),
        ("那会员呢", False),
        ("电脑上呢", False),
        ("怎么申请", False),
    ],
)
def test_names_only_actions(text: str, actions_only: bool) -> None:
    assert names_only_actions(text) is actions_only
