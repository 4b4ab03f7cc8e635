"""Telling pure smalltalk (greetings, thanks, goodbyes) from smalltalk wrapped around a real question."""

from __future__ import annotations

import re

from assistant.text import CJK_CHARS, normalize

GREETING = "greeting"
THANKS_GOODBYE = "thanks_goodbye"
SMALLTALK_INTENTS = (GREETING, THANKS_GOODBYE)

# Openers and closers, plus the filler words around them; what is left after removing them is the question.
_PHRASES = (
    "你好", "您好", "哈喽", "哈罗", "嗨", "在吗", "在不在", "有人吗", "早上好", "上午好", "中午好", "下午好",
    "晚上好", "早安", "晚安", "谢谢", "多谢", "感谢", "谢了", "好的", "好滴", "明白了", "知道了", "了解了",
    "收到", "没问题了", "没事了", "辛苦了", "再见", "拜拜", "客服", "老师", "亲", "good morning",
    "good afternoon", "good evening", "thank you", "thanks", "thx", "hello", "hi", "hey", "okay", "ok",
    "goodbye", "bye", "see you", "got it", "great", "cool",
)  # fmt: skip
_FILLERS = (
    "你", "您", "啊", "呀", "哦", "噢", "嗯", "呢", "吧", "了", "啦", "哈", "嘛", "的", "哇", "喔", "非常",
    "十分", "太", "多", "很", "大家", "so", "much", "very", "a", "lot", "there", "again", "guys", "all",
    "everyone", "for", "the", "your", "help", "you", "and", "bot",
)  # fmt: skip
_GOODBYES = ("再见", "拜拜", "回见", "下次见", "goodbye", "bye", "see you")
_LATIN = re.compile(r"^[a-z ]+$")
_CJK_RE = re.compile(f"[{CJK_CHARS}]")
_WORD_RE = re.compile(r"[a-z0-9]+")


def _strip(text: str, terms: tuple[str, ...]) -> str:
    for term in sorted(terms, key=len, reverse=True):
        if _LATIN.match(term):
            text = re.sub(rf"\b{re.escape(term)}\b", " ", text)
        else:
            text = text.replace(term, " ")
    return text


def question_part(text: str) -> str:
    """What remains of a message once greetings, thanks and filler words are removed (may be empty)."""
    rest = _strip(_strip(normalize(text), _PHRASES), _FILLERS)
    return re.sub(r"[^\w]+", " ", rest).strip()


def has_question(text: str) -> bool:
    """True when smalltalk wraps a real question ("你好，我想退款"), not just "你好呀" or "thanks so much"."""
    rest = question_part(text)
    return len(_CJK_RE.findall(rest)) >= 2 or len(_WORD_RE.findall(rest)) >= 2


def is_goodbye(text: str) -> bool:
    """True when the message says goodbye (rather than only thanks)."""
    norm = normalize(text)
    return any(re.search(rf"\b{re.escape(g)}\b", norm) if _LATIN.match(g) else g in norm for g in _GOODBYES)
