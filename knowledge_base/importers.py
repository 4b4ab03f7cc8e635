"""FAQ importers for CSV, JSONL and Markdown files; every problem is collected with file, line and field."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from assistant.text import has_cjk, normalize
from knowledge_base.models import FaqEntry

FIELDS = ("id", "question", "answer", "category", "alt_questions", "tags", "locale")
REQUIRED = ("question", "answer")
_ID_RE = re.compile(r"^[\w.:/-]{1,128}$")
_LOCALE_RE = re.compile(r"^[a-z]{2}(?:[-_][A-Za-z0-9]{2,8})?$")
_HEADING_RE = re.compile(r"^##(?!#)\s*(.*?)\s*#*\s*$")
_META_RE = re.compile(r"^<!--(.*)-->\s*$")
_META_KEYS = {"id": "id", "category": "category", "alt": "alt_questions", "alt_questions": "alt_questions",
              "tags": "tags", "locale": "locale"}  # fmt: skip


@dataclass(frozen=True)
class Problem:
    """One validation problem, located by file, line and field."""

    file: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


@dataclass(frozen=True)
class Located:
    """An imported entry and where it came from (for duplicate-id messages)."""

    entry: FaqEntry
    file: str
    line: int


def derive_id(question: str) -> str:
    """A stable id from the question text: a short slug for Latin questions plus a content hash."""
    norm = normalize(question)
    digest = hashlib.sha1(norm.encode("utf-8")).hexdigest()[:10]
    slug = "-".join(re.findall(r"[a-z0-9]+", norm))[:40].strip("-")
    return f"{slug}-{digest}" if slug and not has_cjk(norm) else f"faq-{digest}"


def _split_list(value: object) -> tuple[tuple[str, ...], str | None]:
    """`a | b` strings or lists of strings; returns (items, error)."""
    if value is None or value == "":
        return (), None
    if isinstance(value, str):
        items = [part.strip() for part in value.split("|")]
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        items = [v.strip() for v in value]
    else:
        return (), "must be a list of strings or a '|'-separated string"
    return tuple(dict.fromkeys(i for i in items if i)), None


def _entry_from_record(record: Mapping[str, object], file: str, line: int, problems: list[Problem]) -> FaqEntry | None:
    """Validate one record (already keyed by field name); append problems instead of raising."""
    before = len(problems)

    def text_field(name: str) -> str:
        value = record.get(name)
        if value is None:
            return ""
        if isinstance(value, int | float) and not isinstance(value, bool) and name == "id":
            value = str(value)
        if not isinstance(value, str):
            problems.append(Problem(file, line, name, "must be a string"))
            return ""
        return value.strip()

    unknown = sorted(set(record) - set(FIELDS))
    for name in unknown:
        problems.append(Problem(file, line, name, f"unknown field (allowed: {', '.join(FIELDS)})"))
    question, answer = text_field("question"), text_field("answer")
    for name, value in (("question", question), ("answer", answer)):
        if not value and not any(p.field == name for p in problems[before:]):
            problems.append(Problem(file, line, name, "is missing or empty"))
    faq_id = text_field("id")
    if faq_id and not _ID_RE.match(faq_id):
        problems.append(Problem(file, line, "id", f"{faq_id!r} must be 1-128 letters, digits or _.:/-"))
    category = text_field("category")
    locale = text_field("locale")
    if locale and not _LOCALE_RE.match(locale):
        problems.append(Problem(file, line, "locale", f"{locale!r} is not a locale like 'zh' or 'en-US'"))
    alts, alt_error = _split_list(record.get("alt_questions"))
    if alt_error:
        problems.append(Problem(file, line, "alt_questions", alt_error))
    tags, tag_error = _split_list(record.get("tags"))
    if tag_error:
        problems.append(Problem(file, line, "tags", tag_error))
    if len(problems) > before:
        return None
    alts = tuple(a for a in alts if normalize(a) != normalize(question))
    return FaqEntry(
        id=faq_id or derive_id(question),
        question=question,
        answer=answer,
        category=category,
        alt_questions=alts,
        tags=tags,
        locale=locale or ("zh" if has_cjk(question + answer) else "en"),
    )


def parse_csv(text: str, file: str, problems: list[Problem]) -> list[Located]:
    """CSV with a header row naming the fields (`id,question,answer,category[,alt_questions,tags,locale]`)."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        problems.append(Problem(file, 1, "", "file is empty (expected a header row)"))
        return []
    except csv.Error as exc:
        problems.append(Problem(file, 1, "", f"unreadable CSV: {exc}"))
        return []
    bad_header = len(problems)
    for name in REQUIRED:
        if name not in header:
            problems.append(Problem(file, 1, name, "required column is missing from the header"))
    for name in header:
        if name not in FIELDS:
            problems.append(Problem(file, 1, name, f"unknown column (allowed: {', '.join(FIELDS)})"))
    if len(problems) > bad_header:
        return []
    out: list[Located] = []
    line = reader.line_num + 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(Problem(file, line, "", f"unreadable CSV row: {exc}"))
            break
        if any(cell.strip() for cell in row):
            if len(row) != len(header):
                problems.append(Problem(file, line, "", f"has {len(row)} cells but the header has {len(header)}"))
            else:
                entry = _entry_from_record(dict(zip(header, row, strict=True)), file, line, problems)
                if entry is not None:
                    out.append(Located(entry, file, line))
        line = reader.line_num + 1
    return out


def parse_jsonl(text: str, file: str, problems: list[Problem]) -> list[Located]:
    """One JSON object per line with the same fields as the CSV; lists or `|` strings for lists."""
    out: list[Located] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except json.JSONDecodeError as exc:
            problems.append(Problem(file, number, "", f"invalid JSON: {exc.msg}"))
            continue
        if not isinstance(record, dict):
            problems.append(Problem(file, number, "", "each line must be a JSON object"))
            continue
        entry = _entry_from_record(record, file, number, problems)
        if entry is not None:
            out.append(Located(entry, file, number))
    return out


def parse_markdown(text: str, file: str, problems: list[Problem]) -> list[Located]:
    """`## question` headings, the body is the answer; an optional `<!-- id: x; alt: a | b -->` line."""
    out: list[Located] = []
    lines = text.splitlines()
    starts: list[int] = []
    in_fence = False
    for index, raw in enumerate(lines):
        if raw.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
        elif not in_fence and _HEADING_RE.match(raw):
            starts.append(index)
    for position, start in enumerate(starts):
        end = starts[position + 1] if position + 1 < len(starts) else len(lines)
        match = _HEADING_RE.match(lines[start])
        assert match is not None
        record: dict[str, object] = {"question": match.group(1)}
        body = lines[start + 1 : end]
        meta_index = next((i for i, raw in enumerate(body) if raw.strip()), None)
        if meta_index is not None and (meta := _META_RE.match(body[meta_index].strip())):
            meta_line = start + 2 + meta_index
            for part in meta.group(1).split(";"):
                if not part.strip():
                    continue
                key, sep, value = part.partition(":")
                field = _META_KEYS.get(key.strip().lower())
                if not sep or field is None:
                    problems.append(
                        Problem(
                            file,
                            meta_line,
                            key.strip(),
                            f"unknown metadata key (allowed: {', '.join(_META_KEYS)})",
                        )
                    )
                    continue
                record[field] = value.strip()
            body = body[meta_index + 1 :]
        record["answer"] = "\n".join(body).strip()
        entry = _entry_from_record(record, file, start + 1, problems)
        if entry is not None:
            out.append(Located(entry, file, start + 1))
    if not starts and text.strip():
        problems.append(Problem(file, 1, "", "no '## question' headings found"))
    return out


PARSERS: dict[str, Callable[[str, str, list[Problem]], list[Located]]] = {
    ".csv": parse_csv,
    ".jsonl": parse_jsonl,
    ".md": parse_markdown,
}


def parse_file(path: Path, problems: list[Problem]) -> list[Located]:
    """Parse one FAQ file by its extension, appending problems."""
    parser = PARSERS.get(path.suffix.lower())
    if parser is None:
        problems.append(Problem(str(path), 0, "", f"unsupported file type (use {', '.join(PARSERS)})"))
        return []
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(Problem(str(path), 0, "", f"cannot read: {exc}"))
        return []
    return parser(text, str(path), problems)
