"""Weak hits: below the answerable bar, answered only when the intent or the conversation's topic backs them."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from assistant.dialogue import DialogueEngine, Policy
from assistant.dialogue.corroboration import WeakHit, choose_share
from assistant.dialogue.policy import RetrievalPolicy
from knowledge_base.models import FaqEntry
from tests.dialogue.fakes import Chat, FakeIntents, FakeKB

EngineFactory = Callable[..., DialogueEngine]
BROKEN = "下载的课过几天就打不开了"


@pytest.fixture
def backed_engine(make_engine: EngineFactory) -> DialogueEngine:
    # The fake KB's bar is 0.5: weak hits from 0.2 up may answer when backed.
    return make_engine(policy=Policy(retrieval=RetrievalPolicy(corroborated_evidence=0.4)))


@pytest.fixture
def weak(kb: FakeKB, intents: FakeIntents) -> FakeKB:
    kb.script(BROKEN, [("video-download", 0.3), ("app-download", 0.28)])
    intents.script("课程视频能下载吗", "download", 0.9)  # the entry's own question
    return kb


def test_a_weak_hit_the_intent_backs_is_answered_without_asking_among_runners_up(
    weak: FakeKB, intents: FakeIntents, backed_engine: DialogueEngine
) -> None:
    intents.script(BROKEN, "download", 0.8)
    decision = Chat(backed_engine).say(BROKEN)
    assert decision.action == "answer"
    assert decision.faq_id == "video-download"
    assert "corroborated_by:intent" in decision.trace.notes


def test_the_best_backed_hit_answers_even_below_an_unbacked_one(
    kb: FakeKB, intents: FakeIntents, weak: FakeKB, backed_engine: DialogueEngine
) -> None:
    kb.script(BROKEN, [("live-replay", 0.3), ("video-download", 0.25)])
    intents.script(BROKEN, "download", 0.8)
    decision = Chat(backed_engine).say(BROKEN)
    assert decision.faq_id == "video-download"


def test_a_weak_hit_of_another_kind_than_the_intent_is_a_fallback(
    weak: FakeKB, intents: FakeIntents, backed_engine: DialogueEngine
) -> None:
    intents.script(BROKEN, "playback_issue", 0.8)
    assert Chat(backed_engine).say(BROKEN).action == "fallback"


def test_a_backed_hit_below_the_calibrated_share_is_a_fallback(
    kb: FakeKB, intents: FakeIntents, weak: FakeKB, backed_engine: DialogueEngine
) -> None:
    kb.script(BROKEN, [("video-download", 0.15)])
    intents.script(BROKEN, "download", 0.8)
    assert Chat(backed_engine).say(BROKEN).action == "fallback"


def test_without_a_calibrated_share_weak_hits_are_never_answered(
    weak: FakeKB, intents: FakeIntents, make_engine: EngineFactory
) -> None:
    intents.script(BROKEN, "download", 0.8)
    assert Chat(make_engine()).say(BROKEN).action == "fallback"


def test_a_weak_follow_up_on_the_conversations_topic_is_answered(kb: FakeKB, backed_engine: DialogueEngine) -> None:
    kb.script("课程怎么退款", [("refund-course", 0.9)])
    kb.script("钱多久能回到我卡里", [("refund-arrival", 0.3)])
    chat = Chat(backed_engine)
    chat.say("课程怎么退款")
    decision = chat.say("钱多久能回到我卡里")
    assert decision.faq_id == "refund-arrival"
    assert "corroborated_by:topic" in decision.trace.notes
    # Without the topic, nothing backs the same weak hit.
    assert Chat(backed_engine).say("钱多久能回到我卡里").action == "fallback"


def test_the_follow_up_reading_closer_to_the_topic_is_the_one_judged(kb: FakeKB, backed_engine: DialogueEngine) -> None:
    kb.script("课程怎么退款", [("refund-course", 0.9)])
    kb.script("那多久到", [("invoice", 0.15)])
    kb.script("那多久到", [("refund-arrival", 0.35)], context="课程怎么退款")
    chat = Chat(backed_engine)
    chat.say("课程怎么退款")
    decision = chat.say("那多久到")
    assert decision.faq_id == "refund-arrival"
    assert decision.trace.follow_up


def test_the_calibrated_share_is_the_bar_of_most_right_over_wrong_answers() -> None:
    samples = [WeakHit(0.9, True, True), WeakHit(0.6, True, True), WeakHit(0.5, True, False), WeakHit(0.3, True, False)]
    samples += [WeakHit(0.8, False, False)]  # unbacked hits are never answered, whatever their share
    assert choose_share(samples).share == 0.6  # the highest bar keeping both right answers
    assert choose_share(samples).value == 2
    assert choose_share([WeakHit(0.9, True, False)]).share == 1.0  # no bar helps: the rule stays off


def test_a_follow_up_word_an_on_topic_entry_names_backs_a_weak_hit(
    kb: FakeKB, backed_engine: DialogueEngine, make_engine: EngineFactory
) -> None:
    kb.entries["membership-expired"] = FaqEntry("membership-expired", "会员过期后课还能看吗", "不能。", "membership")
    kb.script("会员有哪些权益", [("membership-benefits", 0.9)])
    kb.script("过期了呢", [("live-replay", 0.6)])
    kb.script("过期了呢", [("live-replay", 0.5), ("membership-expired", 0.22)], context="会员有哪些权益")
    for engine, expected in ((backed_engine, "membership-expired"), (make_engine(), "live-replay")):
        chat = Chat(engine)
        chat.say("会员有哪些权益")
        assert chat.say("过期了呢").faq_id == expected


def test_an_unbacked_fallback_offers_its_weak_hits_as_buttons_and_a_tap_answers(
    weak: FakeKB, intents: FakeIntents, backed_engine: DialogueEngine
) -> None:
    intents.script(BROKEN, "playback_issue", 0.8)  # nothing backs the weak hits: no answer
    chat = Chat(backed_engine)
    decision = chat.say(BROKEN)
    assert decision.action == "fallback"
    payloads = [r.payload for r in decision.quick_replies]
    assert payloads == ["faq:video-download", "faq:app-download", "handoff"]
    tapped = chat.say(quick_reply="faq:app-download")
    assert (tapped.action, tapped.faq_id) == ("answer", "app-download")


def test_hits_below_the_calibrated_share_or_without_calibration_are_not_offered(
    kb: FakeKB, intents: FakeIntents, weak: FakeKB, backed_engine: DialogueEngine, make_engine: EngineFactory
) -> None:
    kb.script(BROKEN, [("video-download", 0.25), ("app-download", 0.1)])  # the floor is 0.4 x 0.5 = 0.2
    intents.script(BROKEN, "playback_issue", 0.8)
    offered = [r.payload for r in Chat(backed_engine).say(BROKEN).quick_replies]
    assert offered == ["faq:video-download", "handoff"]
    uncalibrated = [r.payload for r in Chat(make_engine()).say(BROKEN).quick_replies]
    assert uncalibrated == ["handoff"]
