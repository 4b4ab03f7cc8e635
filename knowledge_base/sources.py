"""FAQ sources: expand files and folders, load and validate every entry, checksum the source content."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from pathlib import Path

from assistant.errors import InvalidInput
from knowledge_base.importers import PARSERS, Located, Problem, parse_file
from knowledge_base.models import FaqEntry

MAX_LISTED_PROBLEMS = 200


class FaqImportError(InvalidInput):
    """The FAQ sources hold invalid rows; `problems` lists every one (file, line, field)."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        shown = "\n".join(f"  - {p}" for p in self.problems[:MAX_LISTED_PROBLEMS])
        more = len(self.problems) - MAX_LISTED_PROBLEMS
        extra = f"\n  ... and {more} more" if more > 0 else ""
        super().__init__(f"{len(self.problems)} problem(s) in the FAQ sources:\n{shown}{extra}")


def expand_sources(paths: Iterable[str | Path]) -> tuple[list[Path], list[Problem]]:
    """Files named directly plus every .csv/.jsonl/.md file inside named folders (sorted)."""
    files: list[Path] = []
    problems: list[Problem] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in PARSERS)
            if not found:
                problems.append(Problem(str(path), 0, "", "folder holds no .csv, .jsonl or .md files"))
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            problems.append(Problem(str(path), 0, "", "no such file or folder"))
    unique = list(dict.fromkeys(p.resolve() for p in files))
    return unique, problems


def load_faq(paths: Iterable[str | Path]) -> list[FaqEntry]:
    """Load and validate FAQ entries from files/folders; raise one FaqImportError listing every problem."""
    files, problems = expand_sources(paths)
    located: list[Located] = []
    for file in files:
        located.extend(parse_file(file, problems))
    seen: dict[str, Located] = {}
    for item in located:
        first = seen.get(item.entry.id)
        if first is not None:
            problems.append(
                Problem(
                    item.file,
                    item.line,
                    "id",
                    f"duplicate id {item.entry.id!r} (first at {first.file}:{first.line})",
                )
            )
        else:
            seen[item.entry.id] = item
    if not problems and not located:
        problems.append(Problem(", ".join(str(p) for p in paths) or "<no sources>", 0, "", "no FAQ entries found"))
    if problems:
        raise FaqImportError(problems)
    return [item.entry for item in located]


def source_checksum(paths: Iterable[str | Path]) -> str:
    """SHA-256 over the names and bytes of every source file (what `is_stale` compares)."""
    files, _ = expand_sources(paths)
    digest = hashlib.sha256()
    for file in files:
        digest.update(file.name.encode("utf-8") + b"\0")
        digest.update(file.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def alternatives_note(entries: Sequence[FaqEntry]) -> str | None:
    """Advice when entries have no alternative question (None when every entry has one).

    Calibration learns what a right answer looks like from an entry's other wordings; an entry with none only
    offers near-copies of its own question, so a FAQ of such entries would set its answerable bar above most real
    paraphrases (README, "FAQs without alternative questions": answered correctly 44% -> 14% on a FAQ measured
    with and without them). A FAQ mostly without them borrows the shipped prior (`knowledge_base.prior`), which
    recovers much of that but not all: the operator's own wordings still help.
    """
    missing = [e.id for e in entries if not e.alt_questions]
    if not missing:
        return None
    shown = ", ".join(missing[:5]) + (", ..." if len(missing) > 5 else "")
    return (
        f"{len(missing)} of {len(entries)} entries have no alternative questions ({shown}): users' own wordings of "
        "them are often left unanswered; add 2-3 ways users ask each (alt_questions)"
    )
