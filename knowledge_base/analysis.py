"""Lexical channels of a text for sparse retrieval: content words, character n-grams, pinyin, thesaurus concepts."""

from __future__ import annotations

import itertools
import math
import re
import sys
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from assistant import text as _text
from assistant.gloss import english_gloss
from assistant.text import CJK_CHARS, has_cjk, normalize, pinyin_tokens, words_cached
from knowledge_base.pinyin import latin_pinyin_syllables, split_pinyin
from knowledge_base.thesaurus import classes, concepts

# Also "concepts" and "classes" (Cilin codes, knowledge_base.thesaurus: words that differ but share a synonym group
# or a level-4 class share a token there); measured and left out of the default (README).
CHANNELS: tuple[str, ...] = ("words", "chars", "pinyin")

_CJK_RE = re.compile(f"[{CJK_CHARS}]")
# Same tokenisation as assistant.text.words, but run by run so n-grams never cross punctuation.
_SEGMENT_RE = re.compile(f"[{CJK_CHARS}]+|[a-z0-9]+(?:['.][a-z0-9]+)*")


# Question words are content for retrieval (多久 vs 多少 tell what is asked) but never a topic by themselves.
QUESTION_WORDS = frozenset(
    [
        "怎么",
        "如何",
        "怎样",
        "怎么样",
        "什么",
        "啥",
        "哪",
        "哪里",
        "哪儿",
        "哪个",
        "为什么",
        "为啥",
        "多少",
        "多久",
        "几",
        "是不是",
        "是否",
        "能否",
        "能不能",
        "可不可以",
        "会不会",
        "有没有",
        "要不要",
        "what",
        "which",
        "who",
        "when",
        "where",
        "why",
        "how",
    ]
)


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    """Generic zh/en function words and question words that carry no topic (shipped with the package)."""
    text = resources.files("knowledge_base").joinpath("data/stopwords.txt").read_text(encoding="utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))


@lru_cache(maxsize=1)
def synonyms() -> dict[str, str]:
    """Word -> canonical word of its synonym group (knowledge_base/data/synonyms.txt), both sides stemmed."""
    text = resources.files("knowledge_base").joinpath("data/synonyms.txt").read_text(encoding="utf-8")
    table: dict[str, str] = {}
    for line in text.splitlines():
        group = [stem(w) for w in line.split()] if line.strip() and not line.startswith("#") else []
        for word in group:
            table.setdefault(word, group[0])  # the first group naming a word wins
    return table


def general_idf(word: str) -> float:
    """How rare a word is in general Chinese (jieba's dictionary counts): fillers low, names high."""
    tokenizer = _text._get_jieba()
    return _general_idf(word, tokenizer.total)


@lru_cache(maxsize=100_000)
def _general_idf(word: str, total: int) -> float:
    count = _text._get_jieba().FREQ.get(word, 0) if has_cjk(word) else 0
    return float(math.log(total / max(count, 1)))


def stem(word: str) -> str:
    """A light English suffix stripper so `refunds`/`refunded`/`refund` share one token."""
    if not word.isascii() or not word.isalpha() or len(word) <= 3:
        return word
    for suffix, repl, min_len in (
        ("ies", "y", 5),
        ("ing", "", 6),
        ("ed", "", 5),
        ("es", "e", 5),
        ("s", "", 4),
    ):
        if word.endswith(suffix) and len(word) >= min_len and not word.endswith("ss"):
            word = word[: -len(suffix)] + repl
            break
    if word.endswith("e") and len(word) > 4:
        word = word[:-1]
    return word


@dataclass(frozen=True)
class Analysis:
    """Tokens of one text per lexical channel; `words` are the content words (no stopwords)."""

    words: tuple[str, ...]
    chars: tuple[str, ...]
    pinyin: tuple[str, ...]

    @property
    def concepts(self) -> tuple[str, ...]:
        """Cilin synonym-group codes of the content words (a polysemous word gives all of its groups)."""
        return tuple(code for word in self.words for code in concepts(word))

    @property
    def classes(self) -> tuple[str, ...]:
        """Cilin level-4 class codes of the content words (the coarser variant of `concepts`)."""
        return tuple(code for word in self.words for code in classes(word))

    def channel(self, name: str) -> tuple[str, ...]:
        """The tokens of one channel by name."""
        tokens: tuple[str, ...] = getattr(self, name)
        return tokens


def _latin_trigrams(word: str) -> list[str]:
    padded = f"#{word}#"
    if len(padded) <= 4:
        return [padded]
    return [padded[i : i + 3] for i in range(len(padded) - 2)]


@lru_cache(maxsize=100_000)
def analyze(text: str) -> Analysis:
    """Split a text into the tokens of every lexical channel (cached: FAQ texts and queries repeat)."""
    stop = stopwords()
    table = synonyms()
    content: list[str] = []
    chars: list[str] = []
    pinyin: list[str] = []
    # Content runs: consecutive non-stopwords of one CJK segment; n-grams and pinyin are built per run so
    # a typo that breaks jieba's segmentation (退宽) still yields the bigram and the pinyin of the pair.
    runs: list[str] = []
    latin_syllable_run: list[str] = []

    def flush_latin_run() -> None:
        if len(latin_syllable_run) >= 2:
            pinyin.extend(_pinyin_run_tokens(latin_syllable_run))
        latin_syllable_run.clear()

    for match in _SEGMENT_RE.finditer(normalize(text)):
        segment = match.group(0)
        if _CJK_RE.match(segment):
            flush_latin_run()
            current = ""
            for word in words_cached(segment):
                if word in stop:
                    if current:
                        runs.append(current)
                    current = ""
                    continue
                content.append(table.get(word, word))
                content.extend(table.get(w, w) for w in _subwords(word) if w not in stop)
                current += word
            if current:
                runs.append(current)
            continue
        if segment in stop:
            flush_latin_run()
            continue
        if not segment.isdigit():  # a bare number (1, 30) alone says little about the topic
            stemmed = stem(segment)
            content.append(table.get(stemmed, stemmed))
        chars.extend(_latin_trigrams(segment))
        syllables = latin_pinyin_syllables(segment)
        if syllables:
            flush_latin_run()
            pinyin.extend(_pinyin_run_tokens(list(syllables)))
        elif split_pinyin(segment) and len(split_pinyin(segment)) == 1:
            latin_syllable_run.append(segment)  # `tui kuan` typed with a space
        else:
            flush_latin_run()
    flush_latin_run()
    for run in runs:
        chars.extend(run)
        chars.extend(run[i : i + 2] for i in range(len(run) - 1))
        pinyin.extend(pinyin_tokens(run))
    # interned: a large FAQ repeats the same few thousand tokens millions of times
    return Analysis(tuple(map(sys.intern, content)), tuple(map(sys.intern, chars)), tuple(map(sys.intern, pinyin)))


@lru_cache(maxsize=100_000)
def gloss(text: str) -> str:
    """The English-gloss view of a text for the embedder (function words dropped); English text unchanged."""
    return english_gloss(text, stopwords())


@lru_cache(maxsize=50_000)
def _subwords(word: str) -> tuple[str, ...]:
    # jieba keeps long compounds whole (开发票, 今天天气); their dictionary sub-words let 发票 match 开发票.
    if len(word) < 3:
        return ()
    freq = _text._get_jieba().FREQ
    subs = (word[i : i + n] for n in (2, 3) for i in range(len(word) - n + 1))
    return tuple(dict.fromkeys(s for s in subs if s != word and freq.get(s)))


def _pinyin_run_tokens(syllables: list[str]) -> list[str]:
    tokens = [f"py:{s}" for s in syllables]
    tokens.extend(f"py:{a}_{b}" for a, b in itertools.pairwise(syllables))
    return tokens
