"""Which language (zh or en) a user wrote in."""

from __future__ import annotations

import re

from assistant.text import CJK_CHARS, normalize

_CJK_RE = re.compile(f"[{CJK_CHARS}]")
_LATIN_WORD_RE = re.compile(r"[a-z]+")


def detect_locale(text: str) -> str | None:
    """`zh` when the text is mostly Chinese, `en` when mostly Latin words, None when it has no words."""
    norm = normalize(text)
    cjk = len(_CJK_RE.findall(norm))
    latin = len(_LATIN_WORD_RE.findall(norm))
    if not cjk and not latin:
        return None
    # One Chinese character carries about as much as one English word, so compare characters with words:
    # "我想买Python课程" is Chinese, "what does 会员 mean" is English.
    return "zh" if cjk >= latin else "en"


def _is_single_latin_word(text: str) -> bool:
    norm = normalize(text)
    return not _CJK_RE.search(norm) and len(_LATIN_WORD_RE.findall(norm)) == 1


def choose_locale(text: str | None, requested: str | None, previous: str | None) -> str:
    """The reply language: the text's, else the widget's locale, else the conversation's, else zh."""
    detected = detect_locale(text) if text else None
    candidates = [detected, requested, previous]
    if text and _is_single_latin_word(text):
        # "ok", "vip", "python" say little about the language of a Chinese-speaking user.
        candidates = [requested, previous, detected]
    for candidate in candidates:
        if candidate in ("zh", "en"):
            return candidate
        if candidate and candidate.lower().startswith("zh"):
            return "zh"
        if candidate and candidate.lower().startswith("en"):
            return "en"
    return "zh"
