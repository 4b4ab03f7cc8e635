"""The FAQ shapes of `evals.faq_shapes`: each rewrites the shipped entries as the shape says, ids mapped."""

from __future__ import annotations

import json

from evals.faq_shapes import (
    DUPLICATE_SUFFIX,
    FOOTER_EN,
    FOOTER_ZH,
    PLATFORMS,
    footer,
    markdown,
    markdown_body,
    merged,
    near_duplicates,
    no_categories,
    remap_dialogue,
    remap_queries,
)
from evals.kb_eval import LabelledQuery
from knowledge_base.models import FaqEntry

ENTRIES = [
    FaqEntry(
        "refund", "怎么退款？", "打开「我的」→「订单」→「申请退款」。7天内可退。", "money", ("能退吗",), ("退款",)
    ),
    FaqEntry("invoice", "怎么开发票？", "在订单页申请电子发票；一般1个工作日内开出。", "money"),
    FaqEntry("reset", "How do I reset my password?", "Tap Forgot password on the login page.", "account", (), (), "en"),
]


def test_no_categories_empties_every_category_and_keeps_the_rest() -> None:
    shaped = no_categories(ENTRIES)
    assert [e.category for e in shaped.entries] == ["", "", ""]
    assert [e.alt_questions for e in shaped.entries] == [e.alt_questions for e in ENTRIES]
    assert dict(shaped.ids) == {"refund": "refund", "invoice": "invoice", "reset": "reset"}


def test_markdown_goes_through_the_real_importer_and_maps_the_derived_ids() -> None:
    shaped = markdown(ENTRIES)
    assert [e.question for e in shaped.entries] == [e.question for e in ENTRIES]
    assert all(not e.category and not e.alt_questions and not e.tags for e in shaped.entries)
    assert shaped.ids["refund"] == shaped.entries[0].id != "refund"
    assert "1. 打开「我的」\n2. 「订单」\n3. 「申请退款」。" in shaped.entries[0].answer
    assert shaped.entries[2].locale == "en"


def test_markdown_body_puts_each_sentence_in_its_own_paragraph() -> None:
    assert markdown_body("第一句。第二句！") == "第一句。\n\n第二句！"


def test_footer_is_pasted_under_every_answer_in_its_language() -> None:
    shaped = footer(ENTRIES)
    assert shaped.entries[0].answer.endswith("\n\n" + FOOTER_ZH)
    assert shaped.entries[2].answer.endswith("\n\n" + FOOTER_EN)


def test_near_duplicates_repeat_the_question_under_a_second_id_that_counts_as_the_first() -> None:
    entries = [FaqEntry(f"e{i}", f"问题{i}？", f"第一句{i}。第二句{i}。") for i in range(16)]
    shaped = near_duplicates(entries)
    twins = [e for e in shaped.entries if e.id.endswith(DUPLICATE_SUFFIX)]
    assert len(twins) == 2
    for twin in twins:
        original = next(e for e in entries if e.id == shaped.same[twin.id])
        assert twin.question == original.question
        assert twin.answer != original.answer


def test_merged_prefixes_each_platforms_ids_and_maps_only_its_own() -> None:
    shaped = merged({"exam": ENTRIES[:2], "lang": ENTRIES[2:]})
    assert [e.id for e in shaped["exam"].entries] == ["exam.refund", "exam.invoice", "lang.reset"]
    assert dict(shaped["lang"].ids) == {"reset": PLATFORMS["lang"].prefix + "reset"}
    queries = [LabelledQuery("能退吗", "refund"), LabelledQuery("天气", "")]
    assert [q.expected for q in remap_queries(queries, shaped["exam"].ids)] == ["exam.refund", ""]


def test_dialogues_are_remapped_expected_ids_and_buttons_alike() -> None:
    line = json.dumps(
        {"id": "d", "turns": [{"quick_reply": "faq:refund", "expect": {"action": "answer", "faq_id": "refund"}}]}
    )
    turn = json.loads(remap_dialogue(line, {"refund": "x.refund"}))["turns"][0]
    assert turn == {"quick_reply": "faq:x.refund", "expect": {"action": "answer", "faq_id": "x.refund"}}
