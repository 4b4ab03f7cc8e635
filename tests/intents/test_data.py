"""Loading training data: CSV and YAML, and errors that name the file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.errors import InvalidInput
from assistant.intents.data import Example, data_checksum, load_examples, validate_for_training


def test_csv_rows_become_examples_with_stripped_fields(tmp_path: Path) -> None:
    path = tmp_path / "i.csv"
    path.write_text("text,intent\n 我要退款 ,refund_request\n\nhello, greeting\n今天天气,oos\n", encoding="utf-8")
    assert load_examples(path) == [
        Example("我要退款", "refund_request"),
        Example("hello", "greeting"),
        Example("今天天气", "oos"),
    ]


def test_csv_columns_may_come_in_any_order_and_quoted_commas_survive(tmp_path: Path) -> None:
    path = tmp_path / "i.csv"
    path.write_text('intent,text\ncomplaint,"太差了，我要投诉, now"\n', encoding="utf-8-sig")
    assert load_examples(path) == [Example("太差了，我要投诉, now", "complaint")]


def test_labels_from_public_datasets_and_chinese_labels_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "i.csv"
    path.write_text("text,intent\nmy payment was reverted,reverted_card_payment?\n我要退款,退款\n", encoding="utf-8")
    assert [e.intent for e in load_examples(path)] == ["reverted_card_payment?", "退款"]


def test_yaml_maps_intents_to_examples(tmp_path: Path) -> None:
    path = tmp_path / "i.yaml"
    path.write_text("greeting:\n  - 你好\n  - hi\noos:\n  - 天气\n", encoding="utf-8")
    assert load_examples(path) == [Example("你好", "greeting"), Example("hi", "greeting"), Example("天气", "oos")]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("text,label\nhi,greeting\n", "i.csv:1: missing field 'intent'"),
        ("text,intent\nhi,greeting\n,greeting\n", "i.csv:3: field 'text' is empty"),
        ("text,intent\nhi,greeting\nhello,\n", "i.csv:3: field 'intent' is empty"),
        ("text,intent\nhi,greeting\nhello,bad intent!\n", "i.csv:3: field 'intent' 'bad intent!'"),
        ("text,intent\nhi,greeting,extra\n", "i.csv:2: expected 2 fields, found 3"),
        ("", "i.csv:1: the file is empty"),
        ("text,intent\n", "i.csv: no examples"),
    ],
)
def test_csv_errors_name_file_line_and_field(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "i.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InvalidInput) as info:
        load_examples(path)
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("greeting: hello\n", "i.yaml:1: field 'greeting' must be a list"),
        ("greeting:\n  - hi\n  - ''\n", "i.yaml:3: field 'text' is empty"),
        ("- hi\n", "i.yaml:1: expected a mapping"),
        ("greeting: [hi\n", "i.yaml: malformed YAML"),
    ],
)
def test_yaml_errors_name_file_line_and_field(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "i.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InvalidInput) as info:
        load_examples(path)
    assert message in str(info.value)


def test_missing_and_non_utf8_files_are_invalid_input(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="no such file"):
        load_examples(tmp_path / "absent.csv")
    path = tmp_path / "gbk.csv"
    path.write_bytes("text,intent\n退款,refund\n".encode("gbk"))
    with pytest.raises(InvalidInput, match="not UTF-8"):
        load_examples(path)


def test_training_needs_two_in_scope_intents() -> None:
    with pytest.raises(InvalidInput, match="at least 2 in-scope intents"):
        validate_for_training([Example("hi", "greeting"), Example("天气", "oos")])


def test_checksum_ignores_order_but_not_content() -> None:
    a = [Example("hi", "greeting"), Example("退款", "refund")]
    assert data_checksum(a) == data_checksum(list(reversed(a)))
    assert data_checksum(a) != data_checksum([Example("hi", "greeting"), Example("退款", "complaint")])
