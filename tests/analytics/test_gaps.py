"""Knowledge gaps: which texts count, how they are grouped (real model), and how clusters are reported."""

from __future__ import annotations

import pytest

from assistant.analytics import Period
from assistant.analytics.clustering import cluster_texts
from assistant.analytics.gaps import GapText, build_report, collect
from assistant.analytics.models import Proposal
from assistant.embedding import Embedder
from tests.analytics.events import EventLog, at

DAY = Period(at("2026-01-05 00:00"), at("2026-01-06 00:00"))
T0 = at("2026-01-05 10:00")

TOPICS = {
    "invoice": ["发票怎么开", "怎么开发票", "开发票在哪里申请", "how do I get an invoice",
                "I need an invoice for my order"],
    "replay": ["直播回放在哪看", "直播的回放怎么看", "错过直播了有回放吗", "where can I watch the live replay",
               "is there a replay of the live class"],
    "delete-account": ["账号怎么注销", "我想注销账号", "注销账户要多久", "how do I delete my account",
                       "please delete my account"],
    # English paraphrases without a shared word: only the embedding can tell they mean the same.
    "crash": ["the app crashes on startup", "the application closes right after I open it"],
    "declined": ["my card payment was declined", "the bank refused my transaction"],
}  # fmt: skip


@pytest.mark.integration
def test_paraphrases_in_chinese_and_english_share_a_cluster_and_topics_stay_apart(real_embedder: Embedder) -> None:
    texts = [t for group in TOPICS.values() for t in group]
    topic_of = {t: name for name, group in TOPICS.items() for t in group}
    clusters = [{topic_of[texts[i]] for i in group} for group in cluster_texts(texts, real_embedder)]
    assert all(len(topics) == 1 for topics in clusters), clusters  # no cluster mixes two topics
    assert sorted(name for [name] in clusters) == sorted(TOPICS)  # and each topic is one cluster

    lexical = [{texts[i] for i in group} for group in cluster_texts(texts, None)]
    assert set(TOPICS["crash"]) not in lexical  # words alone cannot join these; the model does


def _event_log() -> EventLog:
    log = EventLog()
    a = log.start("a", "u1", T0)
    log.turn(a, T0 + 1, "fallback", text="你们有线下课吗")
    log.turn(a, T0 + 2, "handoff", intent="human_agent", text="转人工")  # a request for a person
    b = log.start("b", "u2", T0)
    log.turn(b, T0 + 1, "fallback", text="你们有线下课吗？")  # same text once normalised
    log.turn(b, T0 + 2, "smalltalk", intent="greeting")
    log.turn(b, T0 + 3, "fallback", text="嗯")  # too short to be a question
    c = log.start("c", "u3", T0)
    log.turn(c, T0 + 1, "handoff", intent="complaint", text="课程质量太差了 投诉")
    log.resolved(c, T0 + 600, "t-c")
    d = log.start("d", "u4", at("2026-01-04 12:00"))
    log.turn(d, at("2026-01-04 12:01"), "fallback", text="昨天的问题")  # before the period
    return log


def test_collect_keeps_questions_and_counts_repeats_once_normalised() -> None:
    found = collect(_event_log().ordered(), DAY)
    assert found.total == 3
    by_text = {t.text: t for t in found.texts}
    assert set(by_text) == {"你们有线下课吗", "课程质量太差了 投诉"}
    repeated = by_text["你们有线下课吗"]
    assert (repeated.count, repeated.fallbacks, repeated.users) == (2, 2, {"u1", "u2"})
    assert by_text["课程质量太差了 投诉"].handoffs == 1
    assert found.resolved == {"c": ["t-c"]}


def test_collect_keeps_the_most_asked_when_there_are_too_many_distinct_texts() -> None:
    log = EventLog()
    conv = log.start("a", "u1", T0)
    for i in range(5):
        for _ in range(i + 1):
            log.turn(conv, T0 + i, "fallback", text=f"第{i}个问题是什么")
    found = collect(log.ordered(), DAY, max_distinct=2)
    assert found.truncated
    assert [t.text for t in found.texts] == ["第4个问题是什么", "第3个问题是什么"]


def test_report_orders_clusters_by_size_with_the_centre_as_title_and_asks_for_proposals() -> None:
    texts = [
        GapText("你们有线下课吗", count=3, fallbacks=3, first_at=T0, last_at=T0 + 5, users={"u1"}, conversations={"a"}),
        GapText("有没有线下课", count=1, fallbacks=1, first_at=T0 + 1, last_at=T0 + 1, users={"u2"},
                conversations={"b"}),
        GapText("线下课在哪里上", count=1, handoffs=1, first_at=T0 + 2, last_at=T0 + 2, users={"u3"},
                conversations={"c"}),
        GapText("积分怎么兑换", count=4, fallbacks=4, first_at=T0, last_at=T0, users={"u4"}, conversations={"d"}),
    ]  # fmt: skip
    seen: list[list[str]] = []

    def propose(members: object, resolved: dict[str, list[str]]) -> Proposal | None:
        seen.append([m.text for m in members])  # type: ignore[attr-defined]
        return Proposal("t1", "你们有线下课吗", "暂时没有。", "zh") if len(seen) == 1 else None

    from assistant.analytics.gaps import GapInput

    report = build_report(GapInput(texts, {}, 9), DAY, None, propose=propose)
    first, second = report.clusters
    assert (first.size, first.distinct, first.conversations, first.title) == (5, 3, 3, "你们有线下课吗")
    assert (first.fallbacks, first.handoffs) == (4, 1)
    assert first.examples[0].text == "你们有线下课吗"
    assert first.proposal is not None
    assert first.proposal.answer == "暂时没有。"
    assert (second.size, second.title, second.proposal) == (4, "积分怎么兑换", None)
    assert seen[0][0] == "你们有线下课吗"
    assert (report.texts, report.distinct_texts, report.embedding) == (9, 4, False)
