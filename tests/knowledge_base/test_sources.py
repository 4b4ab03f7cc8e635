"""Advice on FAQ sources: entries without alternative questions are named when a knowledge base is built."""

from __future__ import annotations

from knowledge_base.models import FaqEntry
from knowledge_base.sources import alternatives_note


def _entry(entry_id: str, *alternatives: str) -> FaqEntry:
    return FaqEntry(entry_id, f"question {entry_id}?", "answer", alt_questions=alternatives)


def test_no_note_when_every_entry_has_another_wording() -> None:
    assert alternatives_note([_entry("a", "other a"), _entry("b", "other b")]) is None


def test_note_counts_and_names_the_entries_without_alternatives() -> None:
    note = alternatives_note([_entry("a", "other a"), _entry("b"), _entry("c")])
    assert note is not None
    assert note.startswith("2 of 3 entries have no alternative questions (b, c)")
    assert "alt_questions" in note


def test_note_lists_at_most_five_ids() -> None:
    note = alternatives_note([_entry(f"e{i}") for i in range(8)])
    assert note is not None
    assert "(e0, e1, e2, e3, e4, ...)" in note
    assert "e5" not in note
