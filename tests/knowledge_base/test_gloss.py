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


def test_a_words_neighbours_do_not_depend_on_the_other_query_words_or_on_earlier_queries() -> None:
    rng = np.random.default_rng(4)
    vectors = rng.standard_normal((50, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors[1] = vectors[0] * 0.9 + vectors[1] * 0.1  # near word 0
    words = [f"w{i}" for i in range(50)]
    fresh = WordVectors.create(words, vectors).neighbours(["w0"], {})
    table = WordVectors.create(words, vectors)
    table.neighbours(["w3", "w0", "w7"], {})  # an earlier query that also held w0
    again = table.neighbours(["w9", "w0"], {"new": vectors[0]})
    assert again[1] == fresh[0]
    assert "w1" in fresh[0]
    assert again[0] == WordVectors.create(words, vectors).neighbours(["w9"], {})[0]
    # a word the table lacks is looked up by the vector the query brings, nothing is kept for it
    assert table.neighbours(["new"], {"new": vectors[0]})[0] == fresh[0]
    assert table.neighbours(["new"], {})[0] == {}
