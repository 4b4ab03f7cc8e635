"""Sense choice in the English glosses: everyday readings first, words the dictionary lacks glossed by pieces."""

from __future__ import annotations

from assistant.cedict import bound_senses, parse_cedict
from assistant.gloss import english_gloss, gloss_words


def test_the_usual_reading_comes_before_rare_ones() -> None:
    table = parse_cedict(
        [
            "打 打 [da2] /dozen (loanword)/",
            "打 打 [da3] /to beat/to strike/to type/",
            "聽 听 [ting1] /to listen to; to hear/",
            "听 听 [yin3] /smile (archaic)/",
        ]
    )
    assert table["打"][0] == "beat"  # 打 is read da3 far more often than da2 "dozen"
    assert table["打"][-1] == "dozen"
    assert table["听"][:2] == ("listen to", "hear")  # CC-CEDICT lists the archaic yin3 first


def test_archaic_and_specialist_senses_go_last_within_a_reading() -> None:
    table = parse_cedict(["差 差 [cha1] /(literary) slightly/difference; discrepancy/(math.) remainder/"])
    assert table["差"] == ("difference", "discrepancy", "slightly", "remainder")


def test_single_characters_get_everyday_senses_from_the_real_dictionary() -> None:
    assert gloss_words(["打"])[0] in {"beat", "hit", "strike"}
    assert "open" in gloss_words(["打开"])
    assert "discount" in english_gloss("打折")
    assert "telephone" in english_gloss("打电话")
    assert gloss_words(["看"])[0] in {"see", "look at"}
    assert gloss_words(["要"])[0] in {"want", "need"}


def test_a_word_the_dictionary_lacks_is_glossed_by_its_pieces_in_their_compound_senses() -> None:
    assert "code" in gloss_words(["兑换码"])  # 兑换 + 码, and 码 inside words means a code, not a weight
    assert {"exchange", "convert"} & set(gloss_words(["兑换码"]))
    deduct_fee = gloss_words(["扣费"])
    assert "deduct" in deduct_fee  # 扣 "fasten" is the first sense, 扣除/扣款 use "deduct"
    assert "fee" in deduct_fee


def test_bound_senses_follow_the_frequent_compounds() -> None:
    table = {"码": ("weight", "code"), "密码": ("password", "secret code"), "代码": ("code",), "砝码": ("weight",)}
    ranked = bound_senses(table, {"密码": 1000, "代码": 500, "砝码": 2})
    assert ranked["码"] == ("code", "weight")


def test_latin_words_in_chinese_text_survive_the_gloss() -> None:
    glossed = english_gloss("我的VIP会员过期了")
    assert "vip" in glossed  # upper-case Latin used to be dropped by the lower-case tokenizer
    assert "member" in glossed


def test_pinyin_typed_for_a_word_is_glossed_but_english_stays_english() -> None:
    assert "refund" in english_gloss("tuikuan要多久")
    assert "member" in english_gloss("wo de huiyuan daoqi le")
    assert english_gloss("women change the pin") == "women change the pin"  # `women` reads as pinyin too
    assert english_gloss("How do I get a refund?") == "How do I get a refund?"
