"""Clarification: disambiguating close FAQ candidates, and slot-filling flows."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from assistant.dialogue import DialogueEngine, Policy
from assistant.dialogue.policy import RetrievalPolicy
from tests.dialogue.fakes import Chat, FakeIntents, FakeKB

EngineFactory = Callable[..., DialogueEngine]
VIDEO = "课程视频怎么看"


@pytest.fixture
def ambiguous(kb: FakeKB) -> FakeKB:
    kb.script(VIDEO, [("video-download", 0.62), ("live-replay", 0.58), ("invoice", 0.1)])
    return kb


def test_close_candidates_are_offered_as_quick_replies(ambiguous: FakeKB, make_engine: EngineFactory) -> None:
    chat = Chat(make_engine())
    decision = chat.say(VIDEO)
    assert decision.action == "clarify"
    assert decision.text.startswith("您是想问：")
    assert [(q.title, q.payload) for q in decision.quick_replies] == [
        ("课程视频能下载吗", "faq:video-download"),
        ("直播课怎么看回放", "faq:live-replay"),
    ]
    assert chat.state.pending is not None
    assert chat.state.pending.kind == "disambiguation"


def test_choosing_a_candidate_by_quick_reply_answers_it(ambiguous: FakeKB, make_engine: EngineFactory) -> None:
    chat = Chat(make_engine())
    chat.say(VIDEO)
    decision = chat.say("直播课怎么看回放", quick_reply="faq:live-replay")
    assert decision.action == "answer"
    assert decision.faq_id == "live-replay"
    assert [(s.faq_id, s.score) for s in decision.sources] == [("live-replay", 0.58)]
    assert chat.state.pending is None
    assert chat.state.last_question == "直播课怎么看回放"


@pytest.mark.parametrize("reply", ["第二个", "2", "直播回放"])
def test_choosing_a_candidate_by_text(reply: str, ambiguous: FakeKB, make_engine: EngineFactory) -> None:
    chat = Chat(make_engine())
    chat.say(VIDEO)
    assert chat.say(reply).faq_id == "live-replay"


def test_margin_comes_from_policy_or_caller(ambiguous: FakeKB, make_engine: EngineFactory) -> None:
    narrow = Policy(retrieval=RetrievalPolicy(disambiguation_margin=0.01))
    assert Chat(make_engine(policy=narrow)).say(VIDEO).faq_id == "video-download"
    assert Chat(make_engine(disambiguation_margin=0.01)).say(VIDEO).action == "answer"
    assert Chat(make_engine(policy=narrow, disambiguation_margin=0.2)).say(VIDEO).action == "clarify"


@pytest.fixture
def refund(intents: FakeIntents) -> FakeIntents:
    intents.script("我要退款", "refund_request", 0.9)
    intents.script("I want a refund", "refund_request", 0.9)
    return intents


def test_slot_flow_asks_then_answers_from_a_quick_reply(refund: FakeIntents, make_engine: EngineFactory) -> None:
    chat = Chat(make_engine())
    ask = chat.say("我要退款")
    assert ask.action == "clarify"
    assert ask.text == "请问您要退款的是课程还是会员？"
    assert [(q.title, q.payload) for q in ask.quick_replies] == [("课程", "course"), ("会员", "membership")]
    answer = chat.say("会员", quick_reply="membership")
    assert answer.action == "answer"
    assert answer.faq_id == "refund-membership"
    assert chat.state.slots == {"product_type": "membership"}
    assert chat.state.pending is None


@pytest.mark.parametrize(
    ("reply", "faq_id"),
    [("会员的", "refund-membership"), ("是专栏课", "refund-course"), ("不是课程，是会员", "refund-membership")],
)
def test_slot_flow_answers_from_free_text(
    reply: str, faq_id: str, refund: FakeIntents, make_engine: EngineFactory
) -> None:
    chat = Chat(make_engine())
    chat.say("我要退款")
    assert chat.say(reply).faq_id == faq_id


def test_slot_flow_in_english_with_a_typo(refund: FakeIntents, make_engine: EngineFactory) -> None:
    chat = Chat(make_engine())
    ask = chat.say("I want a refund")
    assert ask.text == "Is the refund for a course or a membership?"
    assert [q.title for q in ask.quick_replies] == ["Course", "Membership"]
    assert chat.say("membrship").faq_id == "refund-membership"


def test_slot_question_is_skipped_when_the_text_names_the_option(
    intents: FakeIntents, make_engine: EngineFactory
) -> None:
    intents.script("我买的专栏想退款", "refund_request", 0.9)
    decision = Chat(make_engine()).say("我买的专栏想退款")
    assert decision.action == "answer"
    assert decision.faq_id == "refund-course"


def test_flow_with_direct_answers(intents: FakeIntents, make_engine: EngineFactory) -> None:
    intents.script("推荐一门课吧", "course_recommendation", 0.85)
    chat = Chat(make_engine())
    ask = chat.say("推荐一门课吧")
    assert [q.payload for q in ask.quick_replies] == ["beginner", "intermediate", "advanced"]
    answer = chat.say("我是小白")
    assert answer.action == "answer"
    assert answer.text == "推荐从《Python入门30讲》开始。"
    assert answer.faq_id is None
    assert chat.state.slots == {"level": "beginner"}


def test_a_flow_with_direct_answers_asks_even_when_the_faq_answers_something_nearby(
    intents: FakeIntents, kb: FakeKB, make_engine: EngineFactory
) -> None:
    # Its options' answers differ by design, so the FAQ's entry is no substitute for the level question.
    intents.script("有没有适合我的课推荐", "course_recommendation", 0.9)
    kb.script("有没有适合我的课推荐", [("video-download", 0.6)])
    decision = Chat(make_engine()).say("有没有适合我的课推荐")
    assert decision.action == "clarify"
    assert "slot_probe:3/3" in decision.trace.notes


def test_an_unrelated_question_abandons_the_clarification(
    refund: FakeIntents, kb: FakeKB, make_engine: EngineFactory
) -> None:
    kb.script("对了，电子发票在哪里申请开具", [("invoice", 0.88)])
    chat = Chat(make_engine())
    chat.say("我要退款")
    decision = chat.say("对了，电子发票在哪里申请开具")
    assert decision.action == "answer"
    assert decision.faq_id == "invoice"
    assert "clarification_abandoned" in decision.trace.notes
    assert chat.state.pending is None


def test_a_different_confident_intent_abandons_the_clarification(
    refund: FakeIntents, intents: FakeIntents, make_engine: EngineFactory
) -> None:
    intents.script("我想找一门适合自己的课程", "course_recommendation", 0.8)
    chat = Chat(make_engine())
    chat.say("我要退款")
    decision = chat.say("我想找一门适合自己的课程")
    assert decision.action == "clarify"
    assert decision.text == "请问您目前的基础是？"


def test_a_non_answer_is_asked_again_once_then_dropped(refund: FakeIntents, make_engine: EngineFactory) -> None:
    chat = Chat(make_engine())
    chat.say("我要退款")
    again = chat.say("嗯")
    assert again.action == "clarify"
    assert again.text == "抱歉，我没太明白。请问您要退款的是课程还是会员？"
    dropped = chat.say("嗯嗯")
    assert dropped.action == "fallback"
    assert "clarification_dropped" in dropped.trace.notes


def test_thanks_during_a_clarification_is_smalltalk(
    refund: FakeIntents, intents: FakeIntents, make_engine: EngineFactory
) -> None:
    intents.script("好的谢谢", "thanks_goodbye", 0.9)
    chat = Chat(make_engine())
    chat.say("我要退款")
    decision = chat.say("好的谢谢")
    assert decision.action == "smalltalk"
    assert chat.state.pending is None


def test_a_remembered_slot_is_not_asked_again(refund: FakeIntents, make_engine: EngineFactory) -> None:
    chat = Chat(make_engine())
    chat.say("我要退款")
    chat.say("课程", quick_reply="course")
    decision = chat.say("我要退款")
    assert decision.faq_id == "refund-course"
    assert "slot_from_state:product_type" in decision.trace.notes


def test_a_follow_up_takes_the_slot_from_what_the_conversation_already_said(
    refund: FakeIntents, intents: FakeIntents, kb: FakeKB, make_engine: EngineFactory
) -> None:
    # Like "那发票能开吗" right after an Apple purchase refund: the last question named the membership, so the
    # refund it asks about is the membership's; asking "课程还是会员？" would make the user repeat themself.
    kb.script("会员有哪些权益", [("membership-benefits", 0.9)])
    intents.script("那能退吗", "refund_request", 0.9)
    chat = Chat(make_engine())
    chat.say("会员有哪些权益")
    decision = chat.say("那能退吗")
    assert (decision.action, decision.faq_id) == ("answer", "refund-membership")
    assert "slot_from_topic:product_type" in decision.trace.notes
    # A conversation that named no option yet still gets the question, and so does a message not pointing back.
    fresh = Chat(make_engine())
    assert fresh.say("那能退吗").action == "clarify"
    kb.script("会员有哪些权益", [("membership-benefits", 0.9)])
    again = Chat(make_engine())
    again.say("会员有哪些权益")
    assert again.say("我要退款").action == "clarify"


def test_a_stale_option_button_still_works(refund: FakeIntents, kb: FakeKB, make_engine: EngineFactory) -> None:
    kb.script("怎么开发票", [("invoice", 0.9)])
    chat = Chat(make_engine())
    chat.say("我要退款")
    chat.say("怎么开发票")
    assert chat.say(quick_reply="membership").faq_id == "refund-membership"


def test_a_specific_question_the_kb_answers_outright_skips_the_flow(
    intents: FakeIntents, kb: FakeKB, make_engine: EngineFactory
) -> None:
    intents.script("退款一般几天到账", "refund_request", 0.8)
    kb.script("退款一般几天到账", [("refund-arrival", 0.9), ("refund-course", 0.4)])
    decision = Chat(make_engine()).say("退款一般几天到账")
    assert decision.faq_id == "refund-arrival"
    assert "flow_skipped:refund_request" in decision.trace.notes


def test_the_flow_is_asked_when_the_kb_leans_towards_its_own_options(
    refund: FakeIntents, kb: FakeKB, make_engine: EngineFactory
) -> None:
    kb.script("我要退款", [("refund-arrival", 0.62), ("refund-course", 0.6)])
    assert Chat(make_engine()).say("我要退款").action == "clarify"
    kb.script("我要退款", [("refund-course", 0.9)])
    assert Chat(make_engine()).say("我要退款").action == "clarify"


def test_an_entry_surer_than_the_flows_intent_is_answered_without_the_question(
    intents: FakeIntents, kb: FakeKB, make_engine: EngineFactory
) -> None:
    # "我是研究生 有学生优惠吗" reads weakly as a course recommendation, but the FAQ is sure of its entry:
    # asking for the user's level would answer a question they did not ask.
    intents.script("我是研究生 有学生优惠吗", "course_recommendation", 0.44)
    kb.script("我是研究生 有学生优惠吗", [("video-download", 0.95)])
    decision = Chat(make_engine()).say("我是研究生 有学生优惠吗")
    assert decision.action == "answer"
    assert decision.faq_id == "video-download"
    assert "answer_outweighs_intent" in decision.trace.notes


def test_a_reply_that_means_one_candidate_read_with_the_question_picks_it(
    ambiguous: FakeKB, make_engine: EngineFactory
) -> None:
    # "能存到手机上吗" names neither offered entry, but read with the question asked it surely means the download one;
    # alone it would find the app download.
    ambiguous.script("能存到手机上吗", [("app-download", 0.6)])
    ambiguous.script("能存到手机上吗", [("video-download", 0.7), ("live-replay", 0.2)], context=VIDEO)
    chat = Chat(make_engine())
    chat.say(VIDEO)
    decision = chat.say("能存到手机上吗")
    assert decision.action == "answer"
    assert decision.faq_id == "video-download"
    assert "chosen_by_meaning" in decision.trace.notes
    assert chat.state.pending is None


def test_a_reply_narrowing_the_topic_to_an_entry_not_offered_gets_that_entry(
    ambiguous: FakeKB, make_engine: EngineFactory
) -> None:
    # Like "expired" after "coupon → not usable / how to use?": read as a follow-up of the question it surely
    # means an entry the question did not list, surer than the offered one the joined reading leans on.
    reply = "会员的呢"
    ambiguous.script(reply, [("membership-benefits", 0.3)])
    ambiguous.script(reply, [("membership-benefits", 0.8), ("video-download", 0.1)], context=VIDEO)
    ambiguous.script(f"{VIDEO} {reply}", [("video-download", 0.6), ("membership-benefits", 0.5)])
    chat = Chat(make_engine())
    chat.say(VIDEO)
    decision = chat.say(reply)
    assert (decision.action, decision.faq_id) == ("answer", "membership-benefits")
    assert "narrowed_beyond_options" in decision.trace.notes
    # The reply alone being surer still of that entry only confirms it.
    ambiguous.script(reply, [("membership-benefits", 0.9)])
    alone = Chat(make_engine())
    alone.say(VIDEO)
    assert alone.say(reply).faq_id == "membership-benefits"
    ambiguous.script(reply, [("membership-benefits", 0.3)])
    # Were that reading no surer than the offered entry, the offered entry would still be the pick.
    ambiguous.script(reply, [("membership-benefits", 0.55), ("video-download", 0.1)], context=VIDEO)
    again = Chat(make_engine())
    again.say(VIDEO)
    assert again.say(reply).faq_id == "video-download"


def test_a_new_question_pulled_towards_a_candidate_by_the_question_is_still_new(
    ambiguous: FakeKB, make_engine: EngineFactory
) -> None:
    # Read with the question, "我想开一张公司抬头的发票" leans on the video entry; alone it is surer of the invoice.
    ambiguous.script("我想开一张公司抬头的发票", [("invoice", 0.9)])
    ambiguous.script("我想开一张公司抬头的发票", [("video-download", 0.55)], context=VIDEO)
    chat = Chat(make_engine())
    chat.say(VIDEO)
    assert chat.say("我想开一张公司抬头的发票").faq_id == "invoice"


def test_a_weak_reading_of_an_offered_entry_is_backed_by_the_question_asked(
    ambiguous: FakeKB, make_engine: EngineFactory
) -> None:
    # "the offline one please" read after the question finds the download entry only weakly; the question the
    # assistant asked backs its own candidates, so the calibrated share of the bar suffices (as for the intent).
    reply = "the offline one please"
    ambiguous.script(f"{VIDEO} {reply}", [("video-download", 0.15), ("live-replay", 0.05)])
    backed = Policy(retrieval=RetrievalPolicy(corroborated_evidence=0.2))
    chat = Chat(make_engine(policy=backed))
    chat.say(VIDEO)
    decision = chat.say(reply)
    assert decision.faq_id == "video-download"
    assert "chosen_by_meaning" in decision.trace.notes
    # Uncalibrated (no backed share), the weak reading picks nothing and the question is asked again.
    unbacked = Chat(make_engine())
    unbacked.say(VIDEO)
    assert unbacked.say(reply).action == "clarify"
