"""The handoff packet carries everything the user said, a summary, and the bot's trail of attempts."""

from __future__ import annotations

from handoff.packet import (
    extractive_summary,
    key_points,
    overall_sentiment,
    queries_tried,
    sentences,
    unresolved_question,
)
from tests.handoff.conftest import World

SAID = (
    "你好",
    "我上周买的《Python 数据分析》课程一直打不开，订单号 20240518001。",
    "换了手机也不行。能退款吗？",
    "转人工",
)
TRAIL = [
    {"text": "你好", "intent": "greeting", "confidence": 0.99, "action": "reply", "sentiment": "neutral"},
    {
        "text": SAID[1],
        "intent": "course_access",
        "confidence": 0.62,
        "action": "answer",
        "faq_id": "faq-017",
        "kb": [{"id": "faq-017", "question": "课程打不开怎么办？", "score": 0.71}],
        "sentiment": "negative",
    },
    {
        "text": SAID[2],
        "intent": "refund",
        "confidence": 0.41,
        "action": "clarify",
        "faq_id": None,
        "kb": [{"id": "faq-031", "question": "如何申请退款？", "score": 0.38}, {"id": "faq-002", "score": 0.2}],
        "sentiment": -0.6,
    },
    {"text": "转人工", "intent": "human_agent", "confidence": 0.97, "action": "handoff", "kb": []},
]


def test_packet_holds_the_whole_conversation_and_the_bots_attempts(world: World) -> None:
    conv = world.conversation("u-42", tier="vip", name="李雷", channel="wechat", said=SAID)
    ticket = world.service.escalate(conv, reason="user_request", trail=TRAIL, agents_available=True)
    packet = ticket.packet

    user_lines = [m["text"] for m in packet["transcript"] if m["role"] == "user"]
    assert user_lines == list(SAID)  # everything the user said before the handoff
    assert packet["reason"] == "user_request"
    assert packet["user"] == {"id": "u-42", "tier": "vip", "name": "李雷"}
    assert packet["channel"] == "wechat"
    assert [(t["intent"], t["confidence"]) for t in packet["intent_trail"]] == [
        ("greeting", 0.99),
        ("course_access", 0.62),
        ("refund", 0.41),
        ("human_agent", 0.97),
    ]
    queries = {q["text"]: q for q in packet["queries"]}
    assert list(queries) == [SAID[1], SAID[2]]  # greetings and "转人工" are not queries
    assert queries[SAID[1]]["found"] is True
    assert queries[SAID[1]]["evidence"][0] == {"id": "faq-017", "question": "课程打不开怎么办？", "score": 0.71}
    assert queries[SAID[2]]["found"] is False
    assert [h["id"] for h in queries[SAID[2]]["evidence"]] == ["faq-031", "faq-002"]
    assert packet["sentiment"] == -0.6
    assert packet["unresolved_question"] == SAID[2]
    assert "能退款吗" in ticket.summary
    assert "20240518001" in ticket.summary  # the order number is the first thing an advisor needs
    assert "你好" not in ticket.summary  # small talk is not a key point
    assert ticket.tier == "vip"
    assert ticket.user_name == "李雷"
    assert ticket.channel == "wechat"


def test_summary_prefers_informative_sentences() -> None:
    texts = ["你好", "在吗", "我在 3 月 2 日买了年度会员，扣了两次款，一共 398 元。", "谢谢"]
    points = key_points(texts)
    assert points == ["我在 3 月 2 日买了年度会员，扣了两次款，一共 398 元。"]
    summary = extractive_summary(texts, "为什么扣了两次款")
    assert summary.startswith("问题：为什么扣了两次款")
    assert "398" in summary


def test_unresolved_question_skips_requests_for_a_person() -> None:
    trail = [{"text": "会员怎么续费", "intent": "renewal", "faq_id": None}, {"text": "转人工", "intent": "human_agent"}]
    assert unresolved_question(["会员怎么续费", "转人工"], trail) == "会员怎么续费"
    assert unresolved_question(["只说了一句"], []) == "只说了一句"
    assert unresolved_question([], []) == ""
    only_asked_for_a_person = [{"text": "转人工", "intent": "human_agent"}]
    assert unresolved_question(["退款多久到账", "转人工"], only_asked_for_a_person) == "退款多久到账"


def test_summarizer_hook_and_its_failure(world: World) -> None:
    seen: list[list[str]] = []

    def llm(lines: list[str]) -> str:
        seen.append(lines)
        return "用户课程打不开，想退款。"

    world.service.summarizer = llm
    conv = world.conversation(said=("课程打不开", "想退款"))
    assert world.escalate(conv).summary == "用户课程打不开，想退款。"
    assert seen[0][0] == "用户: 课程打不开"

    def broken(lines: list[str]) -> str:
        raise TimeoutError("llm down")

    world.service.summarizer = broken
    other = world.conversation("u2", said=("课程打不开，订单 778899",))
    assert "订单 778899" in world.escalate(other).summary


def test_sentences_and_sentiment_helpers() -> None:
    assert sentences("第一句。第二句！Third one. Fourth?") == ["第一句。", "第二句！", "Third one.", "Fourth?"]
    assert overall_sentiment(["positive", "negative", "neutral"]) == "negative"
    assert overall_sentiment([0.2, -0.3, None]) == -0.3
    assert overall_sentiment([None]) is None


def test_queries_tried_from_the_engines_retrieval_traces() -> None:
    turn = {
        "text": "那年卡呢",
        "faq_id": None,
        "evidence": [
            {"query": "那年卡呢", "context": None, "answerable": False, "hits": [{"faq_id": "f1", "score": 0.2}]},
            {"query": "年卡 退款", "context": "会员怎么退款", "answerable": False, "hits": [], "chosen": True},
            {"query": "那年卡呢", "context": None, "answerable": False, "hits": []},  # the same retrieval again
        ],
    }
    tried = queries_tried(turn)
    assert [(q["query"], q["context"], q["found"]) for q in tried] == [
        ("那年卡呢", None, False),
        ("年卡 退款", "会员怎么退款", False),
    ]
    assert tried[0]["evidence"] == [{"id": "f1", "question": "", "score": 0.2}]
    assert tried[1]["evidence"] == []  # missing evidence is shown as such
