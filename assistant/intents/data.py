"""Intent training data: CSV `text,intent` or YAML `intent: [examples]`, validated with file/line/field errors."""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from assistant.errors import InvalidInput
from assistant.intents.types import OOS

# Any visible characters (datasets use labels like `reverted_card_payment?` or Chinese names); no spaces or control
# characters, which would make a label ambiguous in logs, metrics and YAML keys.
_INTENT_RE = re.compile(r"^[^\s\x00-\x1f\x7f]{1,100}$")
MAX_TEXT_CHARS = 2000


@dataclass(frozen=True)
class Example:
    """One labelled utterance; the label `oos` marks an example of out-of-scope text."""

    text: str
    intent: str


def _check(path: Path, line: int, text: object, intent: object) -> Example:
    where = f"{path}:{line}"
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput(f"{where}: field 'text' is empty")
    if len(text) > MAX_TEXT_CHARS:
        raise InvalidInput(f"{where}: field 'text' is longer than {MAX_TEXT_CHARS} characters")
    if not isinstance(intent, str) or not intent.strip():
        raise InvalidInput(f"{where}: field 'intent' is empty")
    intent = intent.strip()
    if not _INTENT_RE.match(intent):
        raise InvalidInput(f"{where}: field 'intent' {intent!r} must be at most 100 characters without spaces")
    return Example(text.strip(), intent)


def _load_csv(path: Path, raw: str) -> list[Example]:
    lines = raw.splitlines(keepends=True)
    reader = csv.reader(lines)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise InvalidInput(f"{path}:1: the file is empty; expected the header 'text,intent'") from None
    for field in ("text", "intent"):
        if field not in header:
            raise InvalidInput(f"{path}:1: missing field {field!r} in the header (expected 'text,intent')")
    text_at, intent_at = header.index("text"), header.index("intent")
    examples: list[Example] = []
    try:
        for row in reader:
            line = reader.line_num
            if not row or all(not cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                raise InvalidInput(f"{path}:{line}: expected {len(header)} fields, found {len(row)}")
            examples.append(_check(path, line, row[text_at], row[intent_at]))
    except csv.Error as exc:
        raise InvalidInput(f"{path}:{reader.line_num}: malformed CSV ({exc})") from exc
    return examples


def _load_yaml(path: Path, raw: str) -> list[Example]:
    import yaml

    try:
        data = yaml.compose(raw)
    except yaml.YAMLError as exc:
        raise InvalidInput(f"{path}: malformed YAML ({exc})") from exc
    if data is None:
        return []
    if not isinstance(data, yaml.MappingNode):
        raise InvalidInput(f"{path}:{data.start_mark.line + 1}: expected a mapping 'intent: [examples]'")
    examples: list[Example] = []
    for key, value in data.value:
        intent = key.value if isinstance(key, yaml.ScalarNode) else None
        if not isinstance(value, yaml.SequenceNode):
            raise InvalidInput(f"{path}:{value.start_mark.line + 1}: field {intent!r} must be a list of examples")
        for item in value.value:
            text = item.value if isinstance(item, yaml.ScalarNode) else None
            examples.append(_check(path, item.start_mark.line + 1, text, intent))
    return examples


def load_examples(path: Path | str) -> list[Example]:
    """Read training examples from a CSV (`text,intent`) or YAML (`intent: [examples]`) file."""
    path = Path(path)
    try:
        raw = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InvalidInput(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot read ({exc.strerror})") from exc
    if path.suffix.lower() in (".yaml", ".yml"):
        examples = _load_yaml(path, raw)
    else:
        examples = _load_csv(path, raw)
    if not examples:
        raise InvalidInput(f"{path}: no examples")
    return examples


def validate_for_training(examples: Iterable[Example], min_per_intent: int = 1) -> list[Example]:
    """Reject training sets a classifier cannot learn from: fewer than two intents or too few examples of one."""
    examples = list(examples)
    counts: dict[str, int] = {}
    for ex in examples:
        counts[ex.intent] = counts.get(ex.intent, 0) + 1
    intents = [name for name in counts if name != OOS]
    if len(intents) < 2:
        raise InvalidInput(f"training data needs at least 2 in-scope intents, found {len(intents)}")
    thin = sorted(name for name in intents if counts[name] < min_per_intent)
    if thin:
        raise InvalidInput(f"intents with fewer than {min_per_intent} examples: {', '.join(thin)}")
    return examples


def data_checksum(examples: Iterable[Example]) -> str:
    """SHA-256 of the examples' content (order-independent), recorded in the model manifest."""
    digest = hashlib.sha256()
    for line in sorted(f"{ex.intent}\x1f{ex.text}" for ex in examples):
        digest.update(line.encode())
        digest.update(b"\n")
    return digest.hexdigest()
