"""Text normalisation and lexical features shared by retrieval, intents and gap clustering (zh + en)."""

from __future__ import annotations

import itertools
import logging
import re
import threading
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

# The CJK ideograph blocks (unified, extension A, compatibility), for character classes across the project.
CJK_CHARS = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_RE = re.compile(f"[{CJK_CHARS}]")
_CJK_RUN_RE = re.compile(f"[{CJK_CHARS}]+")
_TOKEN_RE = re.compile(f"[{CJK_CHARS}]+|[a-z0-9]+(?:['.][a-z0-9]+)*")
_SPACE_RE = re.compile(r"\s+")

_jieba_lock = threading.Lock()
_jieba: Any = None


@lru_cache(maxsize=20_000)  # one turn normalises the same few strings dozens of times (retrieval, intents, rules)
def normalize(text: str) -> str:
    """NFKC (full-width to half-width), lower-case, collapse whitespace, drop control characters."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C" or ch in "\n\t")
    return _SPACE_RE.sub(" ", text).strip().lower()


def has_cjk(text: str) -> bool:
    """True if the text holds any CJK ideograph."""
    return _CJK_RE.search(text) is not None


def cjk_ratio(text: str) -> float:
    """Share of CJK ideographs among the letters and ideographs of the text."""
    letters = [ch for ch in text if ch.isalnum()]
    if not letters:
        return 0.0
    return sum(1 for ch in letters if _CJK_RE.match(ch)) / len(letters)


def _get_jieba() -> Any:
    global _jieba
    with _jieba_lock:
        if _jieba is None:
            import jieba

            jieba.setLogLevel(logging.WARNING)
            tokenizer = jieba.Tokenizer()
            tokenizer.initialize()
            _jieba = tokenizer
        return _jieba


def add_words(words: Iterable[str]) -> None:
    """Teach the Chinese segmenter domain words (course names, product terms)."""
    tokenizer = _get_jieba()
    for word in words:
        word = normalize(word)
        if word and has_cjk(word):
            tokenizer.add_word(word)
    words_cached.cache_clear()


@lru_cache(maxsize=50_000)
def words_cached(text: str) -> tuple[str, ...]:
    """Cached `words` of already normalised text."""
    out: list[str] = []
    for match in _TOKEN_RE.finditer(text):
        token = match.group(0)
        if has_cjk(token):
            out.extend(w for w in _get_jieba().lcut(token, HMM=True) if w.strip())
        else:
            out.append(token)
    return tuple(out)


def words(text: str) -> list[str]:
    """Word tokens: jieba for Chinese runs, alphanumeric words for Latin text."""
    return list(words_cached(normalize(text)))


def char_ngrams(text: str, sizes: Iterable[int] = (1, 2)) -> list[str]:
    """Character n-grams inside each Chinese run (robust to segmentation errors and typos)."""
    grams: list[str] = []
    for run in _CJK_RUN_RE.findall(normalize(text)):
        for n in sizes:
            grams.extend(run[i : i + n] for i in range(len(run) - n + 1))
    return grams


@lru_cache(maxsize=20_000)
def _pinyin_of(char: str) -> str:
    from pypinyin import Style, lazy_pinyin

    return lazy_pinyin(char, style=Style.NORMAL, errors="ignore")[0] if char else ""


def pinyin_tokens(text: str) -> list[str]:
    """Toneless pinyin syllables of the Chinese characters, and pinyin bigrams, so homophones match (退宽 ~ 退款)."""
    syllables: list[str] = []
    for run in _CJK_RUN_RE.findall(normalize(text)):
        run_syllables = [_pinyin_of(ch) for ch in run]
        syllables.extend(f"py:{s}" for s in run_syllables if s)
        syllables.extend(f"py:{a}_{b}" for a, b in itertools.pairwise(run_syllables) if a and b)
    return syllables


def latin_words_as_pinyin(text: str) -> list[str]:
    """Latin words of the text that are valid pinyin syllable sequences, as pinyin tokens (users type `tuikuan`)."""
    return [f"py:{w}" for w in _TOKEN_RE.findall(normalize(text)) if not has_cjk(w) and w.isalpha()]


def lexical_tokens(text: str) -> list[str]:
    """The full lexical view of a text: words, Chinese character bigrams, pinyin bigrams."""
    norm = normalize(text)
    tokens = list(words_cached(norm))
    tokens.extend(f"c2:{g}" for g in char_ngrams(norm, (2,)))
    tokens.extend(t for t in pinyin_tokens(norm) if "_" in t)
    return tokens
