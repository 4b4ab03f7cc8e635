"""Lexical features: Chinese character n-grams, words, pinyin, TF-IDF rows."""

from __future__ import annotations

import numpy as np

from assistant.intents.features import Featurizer, char_tokens, word_tokens


def test_chinese_text_yields_character_one_to_three_grams() -> None:
    grams = char_tokens("申请退款")
    assert {"退", "退款", "请退款", "申请"} <= set(grams)


def test_latin_grams_stay_inside_words_and_full_width_is_normalised() -> None:
    grams = char_tokens("Ｒefund now")
    assert " ref" in grams
    assert "d n" not in grams


def test_word_tokens_include_bigrams() -> None:
    assert "cancel auto" in word_tokens("Cancel auto renewal")


def test_rows_are_unit_length_and_unknown_terms_are_ignored() -> None:
    featurizer = Featurizer.fit(["我要退款", "取消自动续费", "我要发票"], {"char": {"min_df": 1}}, 0.0)
    rows = featurizer.lexical(["我要退款", "完全陌生的句子xyz"]).toarray()
    assert np.isclose(np.linalg.norm(rows[0]), 1.0)
    assert not rows[1].any()


def test_homophone_typos_share_pinyin_features() -> None:
    featurizer = Featurizer.fit(["退款", "发票"], {"pinyin": {"min_df": 1}}, 0.0)
    typo, right, other = featurizer.lexical(["退宽", "退款", "发票"]).toarray()
    assert float(typo @ right) > 0.5
    assert float(typo @ other) == 0.0
