"""Reports that the problem just answered persists ("已经等了半小时了", "换了网络也还是卡", "it still doesn't work")."""

from __future__ import annotations

import re

from assistant.dialogue.context import is_question
from assistant.text import normalize

# Aspect words of continuation and of no effect: they say the state before the answer goes on, and name no new
# topic of their own. "还是" between two options ("个人还是单位") is a choice, but that reading is a question.
_ZH_PERSISTS = re.compile(r"还是|还没|还不|仍然|仍旧|依然|依旧|照样|一直|没用|不管用|没效果|已经.{0,10}了")
_EN_PERSISTS = re.compile(
    r"\b(?:still|yet|again|keeps?|didn't (?:help|work)|doesn't (?:help|work)|not working|no luck|same problem)\b"
)


def reports_persisting_problem(text: str) -> bool:
    """True for a statement (not a question) saying the problem is still there or the fix had no effect."""
    norm = normalize(text).replace("’", "'")
    if is_question(norm):
        return False
    return bool(_ZH_PERSISTS.search(norm) or _EN_PERSISTS.search(norm))
