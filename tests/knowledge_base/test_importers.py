"""FAQ importers: every format, validation that names file/line/field, no silently dropped rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge_base import FaqImportError, load_faq, source_checksum
from knowledge_base.importers import derive_id


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_folder_loads_every_format_in_sorted_order(faq_dir: Path) -> None:
    entries = load_faq([faq_dir])
    assert [e.id for e in entries][:2] == ["en-refund", derive_id("I forgot my password")]  # english.md first
    by_id = {e.id: e for e in entries}
    assert len(by_id) == 14
    csv_entry = by_id["refund-member"]
    assert csv_entry.alt_questions == ("会员能退吗", "vip不想要了能退钱吗")
    assert csv_entry.tags == ("退款", "会员")
    assert csv_entry.category == "refund"
    assert by_id["live-ask"].alt_questions == ("直播怎么提问", "能连麦吗")  # JSON list
    assert by_id["membership-price"].alt_questions == ("会员价格", "年卡多少钱")  # '|' string in JSONL
    md = by_id["en-refund"]
    assert md.question == "How do I get a refund?"
    assert md.alt_questions == ("money back", "refund policy")
    assert md.answer.startswith("Courses can be refunded")


def test_locale_is_detected_when_absent(faq_entries: list) -> None:
    by_id = {e.id: e for e in faq_entries}
    assert by_id["en-refund"].locale == "en"
    assert by_id["live-ask"].locale == "zh"


def test_markdown_without_id_gets_a_stable_derived_id(tmp_path: Path) -> None:
    text = "## 怎么修改昵称？\n在个人资料页修改。\n\n## How do I change my avatar?\nOpen your profile.\n"
    first = load_faq([_write(tmp_path, "a.md", text)])
    again = load_faq([_write(tmp_path, "b.md", text)])
    assert [e.id for e in first] == [e.id for e in again]
    assert first[0].id.startswith("faq-")
    assert first[1].id.startswith("how-do-i-change-my-avatar-")


def test_markdown_body_keeps_subheadings_and_code_fences(tmp_path: Path) -> None:
    text = "## Q1\nline one\n### Steps\n```\n## not a heading\n```\n## Q2\nanswer two\n"
    entries = load_faq([_write(tmp_path, "x.md", text)])
    assert [e.question for e in entries] == ["Q1", "Q2"]
    assert "## not a heading" in entries[0].answer
    assert "### Steps" in entries[0].answer


def test_every_bad_row_is_reported_with_file_line_and_field(tmp_path: Path) -> None:
    csv_path = _write(
        tmp_path,
        "faq.csv",
        "id,question,answer,category\n"
        "ok-1,好的问题,好的答案,general\n"
        "bad-1,,没有问题的答案,general\n"
        'bad 2,有问题,"",general\n'
        "ok-2,第二个问题,第二个答案,general\n",
    )
    jsonl_path = _write(
        tmp_path,
        "more.jsonl",
        '{"id": "j1", "question": "q", "answer": "a"}\n'
        "{not json}\n"
        '{"id": "j3", "question": "q3", "answer": "a3", "alt_questions": 5}\n'
        '{"id": "j4", "question": "q4", "answer": "a4", "colour": "red"}\n',
    )
    with pytest.raises(FaqImportError) as caught:
        load_faq([csv_path, jsonl_path])
    problems = {(Path(p.file).name, p.line, p.field) for p in caught.value.problems}
    assert ("faq.csv", 3, "question") in problems
    assert ("faq.csv", 4, "id") in problems
    assert ("faq.csv", 4, "answer") in problems
    assert ("more.jsonl", 2, "") in problems
    assert ("more.jsonl", 3, "alt_questions") in problems
    assert ("more.jsonl", 4, "colour") in problems
    message = str(caught.value)
    assert "faq.csv:3: question" in message
    assert "more.jsonl:4: colour" in message


def test_csv_line_numbers_count_multiline_cells(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "faq.csv",
        'id,question,answer\nfirst,问题一,"第一行\n第二行"\nsecond,,答案\n',
    )
    with pytest.raises(FaqImportError) as caught:
        load_faq([path])
    assert [(p.line, p.field) for p in caught.value.problems] == [(4, "question")]


def test_missing_required_column_and_unknown_column(tmp_path: Path) -> None:
    path = _write(tmp_path, "faq.csv", "id,question,anwser\n1,q,a\n")
    with pytest.raises(FaqImportError) as caught:
        load_faq([path])
    fields = {(p.line, p.field) for p in caught.value.problems}
    assert fields == {(1, "answer"), (1, "anwser")}


def test_duplicate_ids_across_sources_are_an_error(tmp_path: Path) -> None:
    a = _write(tmp_path, "a.csv", "id,question,answer\nsame,问题,答案\n")
    b = _write(tmp_path, "b.jsonl", '{"id": "same", "question": "别的问题", "answer": "别的答案"}\n')
    with pytest.raises(FaqImportError) as caught:
        load_faq([a, b])
    (problem,) = caught.value.problems
    assert problem.field == "id"
    assert Path(problem.file).name == "b.jsonl"
    assert "a.csv:2" in problem.message


def test_missing_path_and_unsupported_type_are_reported(tmp_path: Path) -> None:
    other = _write(tmp_path, "notes.txt", "hello")
    with pytest.raises(FaqImportError) as caught:
        load_faq([tmp_path / "nope.csv", other])
    assert len(caught.value.problems) == 2


def test_checksum_changes_with_content(tmp_path: Path) -> None:
    path = _write(tmp_path, "faq.csv", "id,question,answer\n1,问题,答案\n")
    before = source_checksum([tmp_path])
    assert before == source_checksum([path])
    path.write_text("id,question,answer\n1,问题,新答案\n", encoding="utf-8")
    assert source_checksum([tmp_path]) != before
