"""Spotting elliptical follow-ups ("那会员呢？", "what about membership?", "多久到账")."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Literal

from assistant.text import CJK_CHARS, normalize, words

FollowUpKind = Literal["anaphoric", "short"]

_CJK_RE = re.compile(f"[{CJK_CHARS}]")
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
# A message naming at most this many things of its own leans on the topic for the rest.
GENERIC_MAX_CONTENT_WORDS = 1


# Interrogatives: a message with one asks something rather than stating a fact ("会员权益有哪些" vs "我买的是年卡").
_ZH_QUESTION = re.compile(
    r"[吗么?？]|怎么|怎样|如何|什么|啥|哪|多少|多久|几|是否|为什么|为啥|能不能|可不可以|有没有|是不是"
)
_EN_QUESTION = re.compile(r"\?|^(?:how|what|which|when|where|why|who|can|could|do|does|did|is|are|will|would|should)\b")


def is_question(text: str) -> bool:
    """True when the message is worded as a question (an interrogative word or a question mark)."""
    norm = normalize(text)
    return bool(_ZH_QUESTION.search(norm) or _EN_QUESTION.search(norm))


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


# Words that carry no topic of their own: question words, particles, modal and light verbs, pronouns.
_ZH_FUNCTION_WORDS = frozenset(
    [
        "那",
        "那么",
        "这",
        "这个",
        "那个",
        "它",
        "呢",
        "吗",
        "吧",
        "啊",
        "呀",
        "了",
        "的",
        "得",
        "地",
        "是",
        "有",
        "没有",
        "还",
        "也",
        "就",
        "都",
        "又",
        "再",
        "会",
        "能",
        "能不能",
        "可以",
        "可不可以",
        "要",
        "需要",
        "想",
        "怎么",
        "怎么样",
        "怎样",
        "如何",
        "为什么",
        "为啥",
        "什么",
        "啥",
        "多少",
        "多久",
        "多长时间",
        "几",
        "几天",
        "哪",
        "哪里",
        "哪儿",
        "哪个",
        "是否",
        "请问",
        "一下",
        "上",
        "下",
        "里",
        "到",
        "在",
        "去",
        "给",
        "用",
        "弄",
        "办",
        "做",
        "搞",
        "操作",
        "申请",
        "办理",
        "使用",
        "处理",
        "进行",
        "呢",
        "吗",
        "我",
        "你",
        "您",
        "我们",
        "你们",
        "还是",
        "被",
        "如果",
        "要是",
        "另外",
        "同样",
    ]
)
_EN_FUNCTION_WORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "if",
        "then",
        "also",
        "too",
        "what",
        "about",
        "how",
        "long",
        "much",
        "many",
        "when",
        "where",
        "why",
        "which",
        "who",
        "whom",
        "whose",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "do",
        "does",
        "did",
        "done",
        "can",
        "could",
        "would",
        "should",
        "will",
        "shall",
        "may",
        "might",
        "must",
        "have",
        "has",
        "had",
        "get",
        "got",
        "it",
        "its",
        "that",
        "this",
        "these",
        "those",
        "them",
        "they",
        "i",
        "me",
        "my",
        "mine",
        "you",
        "your",
        "we",
        "us",
        "our",
        "he",
        "she",
        "his",
        "her",
        "there",
        "here",
        "to",
        "of",
        "on",
        "in",
        "at",
        "for",
        "with",
        "from",
        "by",
        "as",
        "so",
        "any",
        "some",
        "same",
        "way",
        "take",
        "takes",
        "work",
        "works",
        "happen",
        "one",
        "ones",
        "please",
        "ok",
        "okay",
    ]
)


def content_words(text: str) -> list[str]:
    """The words of `text` that name something (a topic, object or condition), function words removed."""
    # References ("这样", "刚才") point back at the topic rather than naming one of their own.
    return [
        w
        for w in words(text)
        if w not in _ZH_FUNCTION_WORDS and w not in _EN_FUNCTION_WORDS and w not in _ZH_REFERENCES and w.strip()
    ]


def is_generic(text: str) -> bool:
    """True when the message names at most one thing of its own ("过期了呢", "怎么申请", "how long does it take?")."""
    return len(content_words(text)) <= GENERIC_MAX_CONTENT_WORDS


# jieba's part-of-speech tags of plain verbs ("关掉", "认证", "拒"); verbal nouns ("vn": "续费") name a thing.
_VERB_TAGS = frozenset(["v", "vd", "vi", "vg"])
# Resultative complements: a verb plus one ("改完", "删掉") is still an action, though no dictionary lists it.
_RESULTATIVES = frozenset("完掉好成到住上下走")


@lru_cache(maxsize=1)
def _verbs() -> frozenset[str]:
    import jieba

    # Only the verbs of jieba's tagged dictionary (35k words, 16 MB, read once on first use): its full
    # part-of-speech tagger would hold the whole tag table and HMM, about 100 MB more per process.
    found = set()
    with jieba.get_dict_file() as handle:
        for raw in handle:
            parts = raw.decode("utf-8").split()
            if len(parts) == 3 and parts[2] in _VERB_TAGS:
                found.add(parts[0])
    return frozenset(found)


def _is_verb(word: str) -> bool:
    verbs = _verbs()
    return word in verbs or (len(word) == 2 and word[0] in verbs and word[1] in _RESULTATIVES)


def names_only_actions(text: str) -> bool:
    """True when the message's own words are all verbs ("怎么关掉", "改完要多久"): an action, not a new thing.

    Such a follow-up acts on the topic just answered; one naming a thing ("那会员呢", "电脑上呢") may change it.
    """
    own = content_words(text)
    return bool(own) and _CJK_RE.search(text) is not None and all(_is_verb(w) for w in own)
