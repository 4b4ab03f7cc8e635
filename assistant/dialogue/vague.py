"""Messages too vague to answer: a bare topic word ("退款", "证书", "download") that several FAQ entries share."""

from __future__ import annotations

import re

from assistant.dialogue.context import content_words
from assistant.dialogue.flows import Flow, Flows
from assistant.text import CJK_CHARS, has_cjk, normalize, words
from knowledge_base.analysis import QUESTION_WORDS
from knowledge_base.models import Hit, SearchResult

# Sentence particles carry no meaning of their own: "证书呢" and "退款啊" are still just the topic.
_PARTICLES = frozenset(["吗", "呢", "啊", "吧", "呀", "了", "的", "嘛", "哦", "么", "哈"])
_CJK_ONLY = re.compile(f"[{CJK_CHARS}]+")
MIN_SHARED = 2  # a word that only one entry contains names that entry: it is a question, not a topic
MAX_COMPOUND_CHARS = 4  # "小班课", "课时包": a compound noun; longer runs say more than one thing
MAX_BARE_WORDS = 4  # "我想退款" and "账号有问题" are bare; a longer message says more than its one topic word


# Words that say a message is about something without saying what about it: "我想退款", "账号有问题",
# "教材的事" and "I have a problem with my account" name one topic and nothing more.
# "i want a refund", "I'd like a refund": the English wish, as 我想 is.
_VAGUE = frozenset(
    ["问题", "事", "事情", "情况", "东西", "我要", "我想", "想要", "problem", "problems", "issue", "issues", "question",
     "want", "wanna", "need", "like"]
)  # fmt: skip


def bare_topic(text: str) -> str | None:
    """The one topic word a message names ("退款", "证书？", "refund", "账号有问题"), or None when it says more."""
    found = [w for w in words(text) if w.strip() and w not in _PARTICLES]
    if len(found) == 1:
        return found[0]
    # "小班课" or "课时包" is one compound noun the segmenter split into a word and a one-character head: the
    # short CJK run is the word the entries' questions contain ("会员退款" is two topics, each a word of its own).
    run = "".join(found)
    compound = len(found) == 2 and min(map(len, found)) == 1 and len(run) <= MAX_COMPOUND_CHARS
    plain_nouns = content_words(run) == found and not any(w in _VAGUE or w in QUESTION_WORDS for w in found)
    if compound and _CJK_ONLY.fullmatch(run) and plain_nouns:
        return run
    # English spells out what Chinese leaves implicit ("I have a problem with my account" = 账号有问题): its
    # articles, pronouns and prepositions do not make a message say more.
    content = content_words(text)
    said = [w for w in found if has_cjk(w) or w in content or w in _VAGUE]
    if len(said) > MAX_BARE_WORDS or any(w in QUESTION_WORDS for w in found):
        return None  # "怎么退款" asks something about the topic: the FAQ's answer to it is not a guess
    named = [w for w in content if w not in _VAGUE and w not in _PARTICLES]
    return named[0] if len(named) == 1 else None


def entries_naming(result: SearchResult, word: str) -> list[Hit]:
    """The hits whose question, or the wording that matched, contains `word` (best first, one per entry)."""
    seen: set[str] = set()
    out: list[Hit] = []
    for hit in result.hits:
        if hit.id not in seen and word in normalize(f"{hit.question} {hit.matched}"):
            seen.add(hit.id)
            out.append(hit)
    return out


def is_shared_topic(hits: list[Hit]) -> bool:
    """True when enough entries name the word that answering one of them would be a guess."""
    return len(hits) >= MIN_SHARED


def flow_covering(hits: list[Hit], flows: Flows) -> Flow | None:
    """The flow that leads to at least two of these entries (the most of them): its question tells them apart."""
    ids = {h.id for h in hits}
    best: tuple[int, Flow] | None = None
    for flow in flows.by_intent.values():
        covered = len(ids & {o.faq_id for o in flow.options if o.faq_id})
        if covered >= MIN_SHARED and (best is None or covered > best[0]):
            best = (covered, flow)
    return best[1] if best else None
