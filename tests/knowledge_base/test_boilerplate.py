"""Boilerplate in answers: sentences pasted under many answers stay out of the indexed answer documents."""

from __future__ import annotations

import numpy as np

from assistant.text import normalize
from knowledge_base.analysis import analyze
from knowledge_base.boilerplate import sentences, shared_sentences, without_sentences
from knowledge_base.indexes import ANSWER_POS, IndexConfig, IndexSet
from knowledge_base.models import FaqEntry

FOOTER = "如仍有疑问，请联系在线客服热线，服务时间 9:00-21:00。"
TOPICS = ("退款", "发票", "证书", "直播", "下载", "会员", "优惠券", "密码")


def _entries(footer_on: int) -> list[FaqEntry]:
    return [
        FaqEntry(f"e{i}", f"{topic}怎么办？", f"{topic}请在「我的」页面办理。" + (FOOTER if i < footer_on else ""))
        for i, topic in enumerate(TOPICS)
    ]


def test_sentences_join_back_into_the_answer() -> None:
    answer = "第一句。第二句！\n\nThird one. Fourth one?"
    assert "".join(sentences(answer)) == answer
    assert sentences(answer) == ["第一句。", "第二句！", "\n", "\n", "Third one.", " Fourth one?"]


def test_a_sentence_under_a_quarter_of_the_answers_and_three_of_them_is_boilerplate() -> None:
    assert shared_sentences([e.answer for e in _entries(footer_on=3)]) == frozenset({normalize(FOOTER)})
    assert not shared_sentences([e.answer for e in _entries(footer_on=2)])


def test_a_sentence_in_two_answers_or_a_short_one_is_not() -> None:
    assert not shared_sentences(["甲。" + FOOTER, "乙。" + FOOTER, "丙。", "丁。"])
    assert not shared_sentences(["可以。甲。", "可以。乙。", "可以。丙。"])


def test_without_sentences_keeps_the_rest_or_the_whole_answer_when_nothing_is_left() -> None:
    shared = shared_sentences([e.answer for e in _entries(footer_on=8)])
    assert without_sentences("退款请在「我的」页面办理。" + FOOTER, shared) == "退款请在「我的」页面办理。"
    assert without_sentences(FOOTER, shared) == FOOTER
    assert without_sentences("退款。" + FOOTER, frozenset()) == "退款。" + FOOTER


def _answers_holding(ix: IndexSet, word: str) -> int:
    words = ix.sparse["words"]
    scores = words.scores(words.encode([word]))
    return int(((scores > 0) & (ix.doc_pos == ANSWER_POS)).sum())


def test_indexed_answers_leave_out_the_pasted_footer_also_for_entries_added_later() -> None:
    config = IndexConfig(channels=("words",), dense=False, boilerplate=True)
    assert "热线" in analyze(FOOTER).words
    entries = _entries(footer_on=8)
    ix = IndexSet.empty(config, 0).add(entries[:6], None)
    assert _answers_holding(ix, "热线") == 0
    assert _answers_holding(ix, "办理") == 6
    ix = ix.add(entries[6:], None)
    assert _answers_holding(ix, "热线") == 0
    assert ix.entries[0] is not None
    assert ix.entries[0].answer.endswith(FOOTER)  # users still read it


def test_a_footer_under_few_answers_stays_indexed() -> None:
    config = IndexConfig(channels=("words",), dense=False, boilerplate=True)
    ix = IndexSet.empty(config, 0).add(_entries(footer_on=1), None)
    assert _answers_holding(ix, "热线") == 1
    assert np.count_nonzero(ix.doc_pos == ANSWER_POS) == len(TOPICS)


def test_answers_are_indexed_whole_by_default_and_the_switch_survives_a_snapshot() -> None:
    ix = IndexSet.empty(IndexConfig(channels=("words",), dense=False), 0).add(_entries(footer_on=8), None)
    assert _answers_holding(ix, "热线") == len(TOPICS)
    assert IndexConfig.from_json(IndexConfig(boilerplate=True).to_json()).boilerplate
    assert not IndexConfig.from_json({"channels": ["words"], "dense": False, "index_answers": True}).boilerplate
