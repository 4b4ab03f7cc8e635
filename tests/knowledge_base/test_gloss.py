"""English glosses of Chinese (CC-CEDICT) and the meaning-based query expansion built on them."""

from __future__ import annotations

import numpy as np

from assistant.gloss import english_gloss, parse_cedict
from knowledge_base.analysis import gloss
from knowledge_base.expansion import MIN_SIMILARITY, WordVectors

SAMPLE = [
    "退款 退款 [tui4 kuan3] /to refund/refund/",
    "發票 发票 [fa1 piao4] /invoice/receipt/CL:張|张[zhang1]/",
    "的 的 [de5] /(possessive particle)/",
    "張 张 [Zhang1] /surname Zhang/",
    "張 张 [zhang1] /to open up/CL:個|个[ge4]/",
]


def test_parse_keeps_meanings_and_drops_grammar_notes_and_cross_references() -> None:
    table = parse_cedict(SAMPLE)
    assert table["退款"] == ("refund",)  # "to refund" and "refund" are one meaning
    assert table["发票"] == ("invoice", "receipt")  # the classifier note is not a meaning
    assert "的" not in table  # a particle has no English meaning to embed
    assert table["张"] == ("open up",)  # the surname reading is dropped


def test_gloss_turns_chinese_into_english_and_leaves_english_alone() -> None:
    assert "refund" in gloss("怎么退款")
    assert "invoice" in gloss("开发票")  # a compound the dictionary lacks is glossed through its sub-words
    assert gloss("How do I get a refund?") == "How do I get a refund?"
    assert english_gloss("") == ""


def test_paraphrases_without_shared_words_share_gloss_words() -> None:
    # 把钱要回来 and 退款 share no character, but both glosses speak of money coming back
    assert "money" in gloss("把钱要回来")
    assert "return" in gloss("把钱要回来")


def test_expansion_brings_in_near_words_only() -> None:
    vectors = np.asarray([[1.0, 0.0, 0.0], [0.8, 0.6, 0.0], [0.0, 0.0, 1.0]], dtype=np.float32)
    table = WordVectors.create(["退款", "退钱", "发票"], vectors)
    query = {"拿回钱": np.asarray([0.9, 0.43589, 0.0], dtype=np.float32)}
    expanded = table.expand(["拿回钱", "退款"], query)
    assert set(expanded) == {"退款", "退钱"}  # 发票 is unrelated
    assert expanded["退款"] == 1.0  # a word the FAQ has matches itself fully
    assert all(MIN_SIMILARITY <= w <= 1.0 for w in expanded.values())
    assert table.expand(["未知"], {}) == {}  # a word with no vector expands to nothing
