"""Lexical channels: homophones share pinyin, Latin pinyin is understood, synonyms and stopwords normalise."""

from __future__ import annotations

from knowledge_base.analysis import analyze
from knowledge_base.pinyin import split_pinyin


def test_homophone_typo_has_the_same_pinyin_bigram() -> None:
    assert "py:tui_kuan" in analyze("退宽").pinyin
    assert "py:tui_kuan" in analyze("怎么退款").pinyin


def test_pinyin_typed_in_latin_letters_becomes_pinyin_tokens() -> None:
    assert split_pinyin("tuikuan") == ("tui", "kuan")
    assert split_pinyin("xian") == ("xian",)  # fewest syllables, not xi+an
    assert split_pinyin("refund") == ()
    assert "py:tui_kuan" in analyze("tuikuan").pinyin
    assert "py:tui_kuan" in analyze("tui kuan 怎么弄").pinyin
    assert analyze("refund please").pinyin == ()


def test_stopwords_and_fillers_are_not_content() -> None:
    assert analyze("请问一下啊").words == ()
    assert "退款" in analyze("请问怎么退款啊").words


def test_synonyms_share_one_token_across_languages() -> None:
    assert "退款" in analyze("能退钱吗").words
    assert "退款" in analyze("how do I get a refund").words
    assert analyze("refunds").words == analyze("refunded").words


def test_character_ngrams_bridge_broken_segmentation() -> None:
    chars = analyze("课程退宽").chars
    assert "退" in chars
    assert "课程" in chars
