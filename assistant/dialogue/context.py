"""Spotting elliptical follow-ups ("那会员呢？", "what about membership?", "多久到账")."""

from __future__ import annotations

import re
from typing import Literal

from assistant.text import normalize

FollowUpKind = Literal["anaphoric", "short"]

_CJK_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_WORD_RE = re.compile(r"[a-z0-9]+")
_ZH_OPENERS = ("那", "那么", "那如果", "如果是", "要是", "还有", "另外", "它", "这个", "那个", "这种", "同样")
_ZH_REFERENCES = ("它", "这个", "那个", "这样", "那样", "这些", "那些", "上面", "刚才", "前面", "同样")
_ZH_ENDINGS = ("呢",)
_EN_OPENERS = re.compile(r"^(?:what about|how about|and|also|what if|same for|then)\b")
_EN_REFERENCES = re.compile(r"\b(?:it|that|this|those|these|them|the same)\b")
# Up to this many units (Chinese characters or words) a message is too short to stand on its own.
SHORT_ZH_CHARS = 6
SHORT_EN_WORDS = 3
# Pronouns only count in fairly short messages; a long one usually names its own topic.
REFERENCE_MAX_UNITS = 10


def follow_up_kind(text: str) -> FollowUpKind | None:
    """`anaphoric` for follow-up markers, `short` for terse messages, None for self-contained ones."""
    norm = normalize(text)
    cjk = len(_CJK_RE.findall(norm))
    latin = len(_WORD_RE.findall(norm))
    units = cjk + latin
    if units == 0:
        return None
    stripped = norm.rstrip("?？!！。.~ ")
    if norm.startswith(_ZH_OPENERS) or _EN_OPENERS.search(norm):
        return "anaphoric"
    if units <= REFERENCE_MAX_UNITS and (
        stripped.endswith(_ZH_ENDINGS) or any(r in norm for r in _ZH_REFERENCES) or _EN_REFERENCES.search(norm)
    ):
        return "anaphoric"
    if (latin == 0 and cjk <= SHORT_ZH_CHARS) or (cjk == 0 and latin <= SHORT_EN_WORDS) or units <= 4:
        return "short"
    return None
