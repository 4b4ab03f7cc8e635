"""Redaction of personal data (phone numbers, ID card numbers, emails, bank card numbers) in free text."""

from __future__ import annotations

import re
from collections.abc import Callable

# Order matters: the 18-digit ID card and long card numbers are replaced before 11-digit phones.
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("email", re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")),
    (
        "id_card",
        re.compile(r"(?<!\d)\d{6}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx](?!\d)"),
    ),
    ("bank_card", re.compile(r"(?<!\d)(?:\d[ -]?){15,18}\d(?!\d)")),
    ("phone", re.compile(r"(?<!\d)(?:\+?86[ -]?)?1[3-9]\d[ -]?\d{4}[ -]?\d{4}(?!\d)")),
)

_LABELS = {"email": "[邮箱]", "id_card": "[身份证号]", "bank_card": "[银行卡号]", "phone": "[手机号]"}


def redact(text: str) -> str:
    """Replace personal data in `text` with placeholders like `[手机号]`."""
    for kind, pattern in _PATTERNS:
        text = pattern.sub(_LABELS[kind], text)
    return text


def find_personal_data(text: str) -> list[tuple[str, str]]:
    """The (kind, value) pairs of personal data found in `text`."""
    found: list[tuple[str, str]] = []
    for kind, pattern in _PATTERNS:
        for match in pattern.finditer(text):
            found.append((kind, match.group(0)))
        text = pattern.sub(_LABELS[kind], text)
    return found


def identity(text: str) -> str:
    """No redaction."""
    return text


def redactor(enabled: bool) -> Callable[[str], str]:
    """`redact` when enabled, else `identity`."""
    return redact if enabled else identity
