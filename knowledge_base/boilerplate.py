"""Boilerplate in answers: sentences pasted under many answers, left out of the answers' indexed text.

Operators often paste the same footer or policy ("如仍有疑问，请联系在线客服……") under every answer. It cannot tell
one answer from another, yet it fills every answer's vector and word coverage with the same words, so a query
about passwords or service hours matches every entry's answer. With `IndexConfig.boilerplate` on, such a sentence
is dropped from the indexed answer documents (the answer shown to users keeps it); README ("Shapes of FAQs")
measures it and why it is off by default.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

from assistant.text import normalize

# A sentence is boilerplate when at least this share of the answers holds it, and at least MIN_ANSWERS of them:
# pasted text goes under most answers, while a rule repeated in a few related answers ("苹果内购请在App Store申请
# 退款") still tells that topic apart. Chosen before measuring, not fitted.
MIN_SHARE = 0.25
MIN_ANSWERS = 3
MIN_CHARS = 6  # "可以。" or "Yes." repeated is an answer's start, not pasted text
_SENTENCE = re.compile(r"(?<=[。！？!?\n])|(?<=[.;；])(?=\s)")


def sentences(answer: str) -> list[str]:
    """The answer cut after each sentence end and line break; joined back they give the answer."""
    return [s for s in _SENTENCE.split(answer) if s]


def _key(sentence: str) -> str:
    return normalize(sentence).strip()


def shared_sentences(answers: Sequence[str]) -> frozenset[str]:
    """The normalised sentences that at least `MIN_SHARE` of the answers (and `MIN_ANSWERS`) hold."""
    counts: Counter[str] = Counter()
    for answer in answers:
        counts.update({key for s in sentences(answer) if len(key := _key(s)) >= MIN_CHARS})
    least = max(MIN_ANSWERS, math.ceil(MIN_SHARE * len(answers)))
    return frozenset(key for key, count in counts.items() if count >= least)


def without_sentences(answer: str, shared: frozenset[str]) -> str:
    """The answer without the shared sentences (the whole answer when nothing else is left)."""
    if not shared:
        return answer
    kept = "".join(s for s in sentences(answer) if _key(s) not in shared).strip()
    return kept or answer
