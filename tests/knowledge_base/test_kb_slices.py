"""The language slices of the KB evaluation: which queries count as English, Chinese, mixed or pinyin."""

from __future__ import annotations

import pytest

from evals.kb_slices import query_language, slice_metrics, slices


@pytest.mark.parametrize(
    ("query", "language"),
    [
        ("how do I book a lesson?", "en"),
        ("refund", "en"),
        ("能退款吗", "zh"),
        ("能refund吗", "mixed"),
        ("vip能退吗", "mixed"),
        ("tuikuan 单独买的那个录播课", "pinyin"),
        ("tui kuan zen me ban", "pinyin"),
        ("kai fapiao", "pinyin"),
        ("can i pay with alipay", "en"),
    ],
)
def test_queries_are_sliced_by_the_language_users_typed(query: str, language: str) -> None:
    assert query_language(query) == language


def test_slices_split_in_scope_queries_by_entry_locale_and_keep_out_of_scope_apart() -> None:
    records = [
        {"lang": "en", "locale": "zh", "expected": "a", "rank": 1, "answerable": True},
        {"lang": "en", "locale": "zh", "expected": "b", "rank": 2, "answerable": True},
        {"lang": "en", "locale": "", "expected": "", "rank": 0, "answerable": False},
    ]
    groups = slices(records)
    assert set(groups) == {"all", "en -> zh", "en -> oos"}
    en_zh = slice_metrics(groups["en -> zh"])
    assert (en_zh["top1"], en_zh["recall@3"], en_zh["answered"]) == (0.5, 1.0, 0.5)
    assert slice_metrics(groups["en -> oos"])["oos_rejected"] == 1.0
