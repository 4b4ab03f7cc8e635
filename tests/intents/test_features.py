"""Lexical features: Chinese character n-grams, words, pinyin, TF-IDF rows."""

from __future__ import annotations

import numpy as np
from scipy import sparse

from assistant.intents.features import ANALYZERS, Featurizer, char_tokens, word_tokens


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


def test_features_are_the_embedding_beside_each_block_to_the_bit() -> None:
    texts = ["我要退款", "取消自动续费 cancel auto renewal", "我要发票", "完全陌生xyz", ""]
    config = {"char": {"min_df": 1, "weight": 0.7}, "word": {"min_df": 1}, "pinyin": {"min_df": 1, "weight": 0.5}}
    featurizer = Featurizer.fit(texts[:3], config, 1.3)
    vectors = np.random.default_rng(0).standard_normal((len(texts), 8)).astype(np.float32)
    vectors[1, 2] = 0.0  # an exact zero is no stored entry, as in a sparse copy of the dense part
    blocks = [b.transform([ANALYZERS[b.analyzer](t) for t in texts]) for b in featurizer.blocks]
    expected = sparse.hstack([sparse.csr_matrix(vectors * 1.3), *blocks], format="csr", dtype=np.float32)
    got = featurizer.transform(texts, vectors)
    assert got.shape == expected.shape
    assert np.array_equal(got.indptr, expected.indptr)
    assert np.array_equal(got.indices, expected.indices)
    assert got.data.tobytes() == expected.data.tobytes()
    coef = np.random.default_rng(1).standard_normal((got.shape[1], 4))
    assert (got @ coef).tobytes() == (expected @ coef).tobytes()
