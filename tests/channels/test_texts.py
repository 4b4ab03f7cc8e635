"""Texts for WeChat: numbered quick replies, and long texts split under WeChat's 2048-byte limit."""

from __future__ import annotations

import pytest

from channels.texts import chosen_option, chunks, with_options


def test_options_are_numbered_and_chosen_by_digit() -> None:
    text = with_options("请问您要退款的是？", ["课程", "会员"])
    assert text.endswith("1. 课程\n2. 会员")
    typed = ("1", " 2 ", "2。", "２", "3", "0", "12", "1 课程")
    assert [chosen_option(s, 2) for s in typed] == [0, 1, 1, 1, None, None, None, None]
    assert with_options("好的", []) == "好的"


@pytest.mark.parametrize("text", ["短句", "退款说明。\n" * 400, "长" * 1500, "a" * 10 + "\n" + "字" * 2000])
def test_chunks_fit_the_limit_and_keep_everything_in_order(text: str) -> None:
    parts = chunks(text)
    assert all(len(p.encode()) <= 2000 for p in parts)
    assert "".join(parts).replace("\n", "") == text.replace("\n", "")
    assert len(parts) == 1 or len(text.encode()) > 2000
