"""Reports that the problem just answered persists ("已经等了半小时了", "换了网络也还是卡", "it still doesn't work")."""

from __future__ import annotations

import re

from assistant.dialogue.context import content_words, is_question
from assistant.text import normalize

PROBLEM_PERSISTS = "problem_persists"  # the trace note of a message saying the answer just given did not help

# Aspect words of continuation and of no effect: they say the state before the answer goes on, and name no new
# topic of their own. "还是" between two options ("个人还是单位") is a choice, but that reading is a question.
_ZH_CONTINUING = r"还是|还没|还不|仍然|仍旧|依然|依旧|照样|一直|没用|不管用|没效果"
_ZH_PERSISTS = re.compile(_ZH_CONTINUING + r"|已经.{0,10}了")
_EN_PERSISTS = re.compile(
    r"\b(?:still|yet|again|keeps?|didn'?t (?:help|work)|doesn'?t (?:help|work)|not working|no luck|same problem)\b"
)
# The continuation markers alone (a span such as "已经…了" may hold a new fact: "已经换了新卡了").
_ZH_MARKERS = re.compile(_ZH_CONTINUING + r"|已经")
# What a report of no effect says about the state itself ("still doesn't work", "还是不行"): negations and the
# generic predicates of working or helping. Any other word names a thing, which may be a new question.
_NO_EFFECT_WORDS = frozenset(
    ["不行", "不了", "没", "不", "没有", "没反应", "不好使", "一样", "这样", "没变", "反应", "试", "试过", "试了",
     "work", "works", "working", "worked", "help", "helps", "helped", "fix", "fixed", "try", "tried",
     "not", "no", "dont", "doesnt", "didnt", "isnt", "cant", "wont"]
)  # fmt: skip


def _normal(text: str) -> str:
    return normalize(text).replace("’", "'")


def reports_persisting_problem(text: str) -> bool:
    """True for a statement (not a question) saying the problem is still there or the fix had no effect."""
    norm = _normal(text)
    if is_question(norm):
        return False
    return bool(_ZH_PERSISTS.search(norm) or _EN_PERSISTS.search(norm))


def names_nothing_else(text: str) -> bool:
    """True when the message says only that the problem persists ("it still doesn't work", "还是不行"): apart from
    its words of continuation and no effect it names nothing, so another entry its words happen to match
    ("my coupon isn't working") is no new question."""
    norm = _normal(text)
    rest = _EN_PERSISTS.sub(" ", _ZH_MARKERS.sub(" ", norm)).replace("'", "")
    return all(word in _NO_EFFECT_WORDS for word in content_words(rest))
