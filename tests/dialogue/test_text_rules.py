"""The small text rules the engine leans on: sentiment, language, smalltalk, option matching, grounding."""

from __future__ import annotations

import pytest

from assistant.dialogue import parse_flows
from assistant.dialogue.clarification import match_option, mentioned_option
from assistant.dialogue.context import is_question
from assistant.dialogue.grounding import check_draft, numbers
from assistant.dialogue.language import choose_locale, detect_locale
from assistant.dialogue.ports import AnswerRequest, DraftAnswer
from assistant.dialogue.sentiment import score_sentiment
from assistant.dialogue.smalltalk import has_question, is_goodbye
from assistant.dialogue.vague import bare_topic
from knowledge_base.models import FaqEntry
from tests.dialogue.conftest import FLOWS_DOC


@pytest.mark.parametrize(
    "text",
    [
        "垃圾平台",
        "你们就是骗子",
        "气死我了",
        "refund my money now!!!",
        "This is a total SCAM, worst course ever",
        "太差了",
        "you charged me again after i cancelled, you are thieves",
    ],
)
def test_angry_messages_score_strongly_negative(text: str) -> None:
    assert score_sentiment(text) <= -0.6


@pytest.mark.parametrize(
    "text", ["课程怎么退款", "你好，我想退款", "补差价怎么算", "what about membership?", "不用转人工"]
)
def test_neutral_questions_score_zero(text: str) -> None:
    assert score_sentiment(text) == 0.0


def test_a_space_ends_a_chinese_clause_for_negation() -> None:
    # "还没到" negates nothing in the next clause: "骗子公司" after a space is still an insult.
    assert score_sentiment("两个星期了还没到 骗子公司 我要去投诉") <= -0.6
    assert score_sentiment("不是骗子") > 0  # within one clause the negator still applies
    assert score_sentiment("not good") < 0  # spaces between English words are not clause ends


def test_negation_intensifiers_and_contrast() -> None:
    assert score_sentiment("满意") > 0 > score_sentiment("不满意")
    assert score_sentiment("not good") < 0 < score_sentiment("good")
    assert score_sentiment("非常失望") < score_sentiment("失望") < score_sentiment("有点失望") < 0
    assert score_sentiment("好烦") < 0
    assert score_sentiment("the course is good but the app is useless") < 0
    assert score_sentiment("谢谢，很有帮助") > 0.5


@pytest.mark.parametrize(
    ("text", "locale"),
    [("我想买Python课程", "zh"), ("what does 会员 mean", "en"), ("VIP会员怎么续费", "zh"), ("12345", None)],
)
def test_detect_locale(text: str, locale: str | None) -> None:
    assert detect_locale(text) == locale


def test_choose_locale_prefers_the_text_then_the_widget_then_the_conversation() -> None:
    assert choose_locale("how are refunds handled", "zh-CN", "zh") == "en"
    assert choose_locale("👍", "en-US", "zh") == "en"
    assert choose_locale(None, None, "en") == "en"
    assert choose_locale("ok", None, "zh") == "zh"
    assert choose_locale(None, None, None) == "zh"


@pytest.mark.parametrize(
    ("text", "question"),
    [
        ("你好", False),
        ("您好呀，在吗？", False),
        ("thanks so much for your help", False),
        ("谢谢老师", False),
        ("你好，我想退款", True),
        ("hi, how do I get a refund?", True),
        ("谢谢，那会员呢", True),
    ],
)
def test_smalltalk_with_or_without_a_question(text: str, question: bool) -> None:
    assert has_question(text) is question


def test_goodbye_versus_thanks() -> None:
    assert is_goodbye("好的拜拜")
    assert is_goodbye("thanks, bye!")
    assert not is_goodbye("谢谢")
    assert not is_goodbye("byebug")


def test_option_mentions() -> None:
    refund = parse_flows(FLOWS_DOC).by_intent["refund_request"]
    assert (mentioned_option("我的会员能退吗", refund) or refund.options[0]).payload == "membership"
    assert mentioned_option("课程和会员", refund) is None  # both named: ask instead of guessing
    assert mentioned_option("不是会员", refund) is None
    assert mentioned_option("my membership", refund) is not None
    assert mentioned_option("coursework", refund) is None  # Latin synonyms match whole words only
    assert match_option("Memebership", refund) is not None


def test_numbers_in_any_notation() -> None:
    assert numbers("7天内退款，3-5个工作日到账，¥1,299", strict=True) == {"7", "3", "5", "1299"}
    assert numbers("七天内，二十四小时，两个月", strict=True) == {"7", "24", "2"}
    assert numbers("within seven days", strict=True) == {"7"}
    assert numbers("一起学习，一下就好", strict=True) == set()


ENTRY = FaqEntry(
    "refund-course", "课程怎么退款", "购买后7天内可申请退款，3-5个工作日到账。详见 https://zx.example/refund"
)
REQUEST = AnswerRequest("课程怎么退", (ENTRY,), (), "zh")


@pytest.mark.parametrize(
    ("draft", "verdict"),
    [
        (DraftAnswer("七天内可以申请退款，款项3到5个工作日退回 [refund-course]", ("refund-course",)), None),
        (DraftAnswer("Within seven days; see https://zx.example/refund", ("refund-course",)), None),
        (DraftAnswer("7天内可以退款。", ()), "uncited"),
        (DraftAnswer("7天内可以退款。", ("refund-membership",)), "unknown_citation:refund-membership"),
        (DraftAnswer("30天内都可以退款。", ("refund-course",)), "unsupported_numbers:30"),
        (DraftAnswer("退款请访问 https://evil.example", ("refund-course",)), "unsupported_links:https://evil.example"),
        (DraftAnswer("   ", ("refund-course",)), "empty"),
    ],
)
def test_grounding_check(draft: DraftAnswer, verdict: str | None) -> None:
    assert check_draft(draft, REQUEST) == verdict


@pytest.mark.parametrize("text", ["你们是不是骗子", "退款申请了半个月都没到账，你们是不是骗子"])
def test_a_not_a_questions_do_not_negate(text: str) -> None:
    assert score_sentiment(text) <= -0.6
    assert score_sentiment("有没有优惠") == 0.0


@pytest.mark.parametrize(
    ("text", "question"),
    [
        ("会员权益有哪些", True),
        ("会员能退吗", True),
        ("is there a phone number", True),
        ("How do I reset my password", True),
        ("我买的是年卡", False),
        ("在苹果手机上买的", False),
        ("membership", False),
    ],
)
def test_is_question(text: str, question: bool) -> None:
    assert is_question(text) is question


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("退款", "退款"),
        ("证书？", "证书"),
        ("证书呢", "证书"),
        ("refund", "refund"),
        ("怎么退款", None),
        ("积分有什么用", None),
        ("我想退款", "退款"),  # a wish and a topic: which refund is not said
        ("账号有问题", "账号"),
        ("教材的事", "教材"),
        ("我想退款，课程买错了", None),
        ("小班课", "小班课"),  # one compound the segmenter splits in two
        ("课时包呢", "课时包"),
        ("退款多久", None),  # a question word: it asks something about the topic
        ("会员退款", None),  # two topics: the FAQ's answer is not a guess
        ("i want a refund", "refund"),  # English spells out the wish and the article
        ("I have a problem with my account", "account"),
        ("i want a refund for my annual plan", None),
        ("how do i get a refund", None),
    ],
)
def test_bare_topic(text: str, word: str | None) -> None:
    assert bare_topic(text) == word
