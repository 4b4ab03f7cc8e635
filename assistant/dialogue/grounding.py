"""Checks that a written answer stays grounded in the FAQ entries it cites (citations, numbers, links)."""

from __future__ import annotations

import re

from assistant.dialogue.ports import AnswerRequest, DraftAnswer
from assistant.text import normalize

MAX_ANSWER_CHARS = 2000

_CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10_000, "亿": 100_000_000}
_CN_NUM = "零〇一二两三四五六七八九十百千万亿"
# Units that turn a number into a claim about time, money, quantity of course content or a discount.
_ZH_CLAIM_UNITS = "个工作日|工作日|个小时|小时|分钟|秒|天|日|周|星期|个月|月|年|元|块|折|倍|%|节|课时|门|期"
_EN_NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20, "thirty": 30, "forty": 40,
    "fifty": 50, "sixty": 60, "ninety": 90, "hundred": 100,
}  # fmt: skip
_EN_CLAIM_UNITS = (
    r"(?:business |working |calendar )?(?:days?|hours?|minutes?|weeks?|months?|years?|yuan|rmb|percent|times"
    r"|lessons?|courses?|sessions?)"
)

_ARABIC_RE = re.compile(r"\d+(?:,\d{3})*(?:\.\d+)?")
_CN_ANY_RE = re.compile(f"[{_CN_NUM}]+")
_CN_CLAIM_RE = re.compile(f"([{_CN_NUM}]+)(?={_ZH_CLAIM_UNITS})")
_EN_CLAIM_RE = re.compile(rf"\b({'|'.join(_EN_NUMBER_WORDS)})[ -]{_EN_CLAIM_UNITS}\b")
_LINK_RE = re.compile(r"(?:https?://|www\.)[^\s)）\]】,，。]+|[\w.+-]+@[\w-]+\.[\w.]+")


def _cn_value(run: str) -> int | None:
    if all(ch in _CN_DIGITS for ch in run) and len(run) > 1:
        # Digit by digit, as in 二〇二四.
        return int("".join(str(_CN_DIGITS[ch]) for ch in run))
    total, section, digit = 0, 0, None
    for ch in run:
        if ch in _CN_DIGITS:
            digit = _CN_DIGITS[ch]
        elif ch in ("万", "亿"):
            section = (section + (digit or 0)) * _CN_UNITS[ch]
            total, section, digit = total + section, 0, None
        else:
            section += (1 if digit is None else digit) * _CN_UNITS[ch]
            digit = None
    return total + section + (digit or 0)


def _canonical(number: str) -> str:
    value = float(number.replace(",", ""))
    return str(int(value)) if value.is_integer() else str(value)


def numbers(text: str, *, strict: bool) -> set[str]:
    """Numbers stated in `text`, canonicalised; `strict` counts number words only before a unit."""
    norm = normalize(text)
    found = {_canonical(m) for m in _ARABIC_RE.findall(norm)}
    for run in _CN_CLAIM_RE.findall(norm) if strict else _CN_ANY_RE.findall(norm):
        value = _cn_value(run)
        if value is not None:
            found.add(str(value))
    # Sources also count bare number words, so "seven days" can be grounded by "七天" or "7 天".
    word_re = _EN_CLAIM_RE if strict else re.compile(rf"\b({'|'.join(_EN_NUMBER_WORDS)})\b")
    found.update(str(_EN_NUMBER_WORDS[m]) for m in word_re.findall(norm))
    return found


def links(text: str) -> set[str]:
    """URLs and e-mail addresses in `text`."""
    return {m.rstrip(".") for m in _LINK_RE.findall(normalize(text))}


def check_draft(draft: DraftAnswer, request: AnswerRequest) -> str | None:
    """None when the draft is grounded in the entries it cites, else the reason to reject it."""
    text = draft.text.strip()
    if not text:
        return "empty"
    if len(text) > MAX_ANSWER_CHARS:
        return "too_long"
    if not draft.cited:
        return "uncited"
    retrieved = {e.id: e for e in request.entries}
    unknown = [c for c in draft.cited if c not in retrieved]
    if unknown:
        return f"unknown_citation:{','.join(unknown)}"
    cited = [retrieved[c] for c in draft.cited]
    for faq_id in draft.cited:
        # Citation markers such as [faq-7] are not claims.
        text = text.replace(faq_id, " ")
    source = "\n".join(f"{e.question}\n{e.answer}" for e in cited)
    unsupported = numbers(text, strict=True) - numbers(source, strict=False)
    if unsupported:
        return f"unsupported_numbers:{','.join(sorted(unsupported))}"
    unknown_links = links(text) - links(source)
    if unknown_links:
        return f"unsupported_links:{','.join(sorted(unknown_links))}"
    return None
