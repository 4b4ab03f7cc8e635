"""CC-CEDICT parsed into English senses per simplified word, the everyday meanings first.

CC-CEDICT lists a word's readings in pinyin order and keeps rare ones beside common ones (打 [da2] "dozen" comes
before 打 [da3] "to beat"; 听 [yin3] "smile (archaic)" before 听 [ting1] "to listen"). The reading pypinyin gives
a word (its most common pronunciation, from its own frequency-ranked data) goes first, proper names last, and senses
labelled as archaic, literary, regional or specialist go after the everyday ones.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

_LINE_RE = re.compile(r"^(\S+) (\S+) \[([^\]]*)\] /(.*)/$")
_PAREN_RE = re.compile(r"\([^)]*\)")
# senses that are cross-references or grammar notes, not meanings
_SKIP_RE = re.compile(
    r"CL:|variant of|surname|abbr\.|^see |also written|also pr\.|used in|\[|radical|Kangxi|old |erhua|"
    r"particle|classifier|interjection|onomatopoeia|\d"
)
# CC-CEDICT's labels for senses a user of today's Mandarin rarely means (register, region, specialist fields)
_RARE_LABELS = frozenset(
    (
        *("archaic", "arch.", "literary", "classical", "old", "obsolete", "in former times"),
        *("dialect", "Cantonese", "Tw", "Taiwan", "loanword"),
        *("math.", "chemistry", "physics", "medicine", "TCM", "Chinese medicine", "used in TCM", "Buddhism"),
        *("Taoism", "geology", "botany", "zoology", "biology", "anatomy", "astronomy", "sports", "music", "law"),
        *("military", "linguistics", "golf", "geometry", "statistics", "mining", "meteorology", "agriculture"),
        *("biochemistry", "chess", "mahjong"),
    )
)
# English words that carry no meaning of their own in a sense ("to look at sth")
_FUNCTION_WORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "to",
        "sb",
        "sth",
        "one's",
        "oneself",
        "in",
        "on",
        "at",
        "for",
        "with",
        "and",
        "or",
        "up",
        "out",
        "be",
        "by",
        "as",
        "from",
        "into",
        "off",
        "etc",
    ]
)
_WORD_RE = re.compile(r"[a-z][a-z'-]*")


@dataclass
class _Word:
    readings: dict[str, list[tuple[bool, str]]] = field(default_factory=dict)  # pinyin -> (rare, sense)
    proper: list[str] = field(default_factory=list)


def _is_rare(part: str) -> bool:
    labels = re.findall(r"\(([^)]*)\)", part)
    return any(label in _RARE_LABELS for label in labels)


def _senses(english: str) -> list[tuple[bool, str]]:
    out: list[tuple[bool, str]] = []
    for slot in english.split("/"):
        rare = _is_rare(slot)
        for part in slot.split(";"):
            sense = _PAREN_RE.sub("", part).strip()
            if not sense or _SKIP_RE.search(sense):
                continue
            sense = sense.removeprefix("to ").strip()
            if sense:
                out.append((rare or _is_rare(part), sense))
    return out


def _usual_reading(word: str) -> str:
    """The pinyin (tone numbers, CC-CEDICT spelling) pypinyin gives the word."""
    from pypinyin import Style, pinyin

    syllables = pinyin(word, style=Style.TONE3, neutral_tone_with_five=True)
    return " ".join(s[0] for s in syllables).replace("v", "u:")


def _ranked(word: str, entry: _Word) -> tuple[str, ...]:
    readings = list(entry.readings)
    if len(readings) > 1:
        usual = _usual_reading(word)
        readings.sort(key=lambda r: r != usual)  # stable: otherwise dictionary order
    common = [s for r in readings for s in entry.readings[r]]
    ordered = [s for rare, s in common if not rare] + [s for rare, s in common if rare] + entry.proper
    return tuple(dict.fromkeys(ordered))


def parse_cedict(lines: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """Simplified headword -> English senses: usual reading first, rare senses and proper names last, notes dropped."""
    words: dict[str, _Word] = {}
    for line in lines:
        match = _LINE_RE.match(line.strip())
        if match is None:
            continue
        _, simplified, pinyin, english = match.groups()
        entry = words.setdefault(simplified, _Word())
        senses = _senses(english)
        if pinyin[:1].isupper():
            entry.proper.extend(s for _, s in senses)
        else:
            entry.readings.setdefault(pinyin.lower(), []).extend(senses)
    ranked = {word: _ranked(word, entry) for word, entry in words.items()}
    return {word: senses for word, senses in ranked.items() if senses}


def _content_words(sense: str) -> list[str]:
    return [w for w in _WORD_RE.findall(sense.lower()) if w not in _FUNCTION_WORDS]


def bound_senses(table: Mapping[str, tuple[str, ...]], frequency: Mapping[str, int]) -> dict[str, tuple[str, ...]]:
    """Each character's senses ranked by how often they recur in the glosses of common words holding it.

    A character inside a word the dictionary lacks is a bound morpheme, and its first dictionary sense is often
    not the one compounds use (码 "weight" first, but 密码, 代码, 编码 speak of codes; 扣 "fasten" first, but
    扣除, 扣款 deduct). Votes are weighted by the log of jieba's word frequency.
    """
    votes: dict[str, dict[str, float]] = {}
    for word, senses in table.items():
        count = frequency.get(word, 0)
        if len(word) < 2 or count <= 0:
            continue
        weight = math.log1p(count)
        tokens = {t for sense in senses[:3] for t in _content_words(sense)}
        for char in set(word):
            tally = votes.setdefault(char, {})
            for token in tokens:
                tally[token] = tally.get(token, 0.0) + weight
    ranked: dict[str, tuple[str, ...]] = {}
    for char, tally in votes.items():
        senses = table.get(char, ())
        if len(senses) > 1:
            ranked[char] = tuple(
                sorted(senses, key=lambda s: -max((tally.get(t, 0.0) for t in _content_words(s)), default=0.0))
            )
    return ranked


def pinyin_words(lines: Iterable[str], frequency: Mapping[str, int], english: Iterable[str] = ()) -> dict[str, str]:
    """Toneless pinyin typed as one Latin word (`tuikuan`) -> the most frequent dictionary word read so.

    Only words of two or more syllables, and never a key that is also an English word (`women`, `change`
    read as pinyin would turn English into Chinese).
    """
    best: dict[str, tuple[int, str]] = {}
    for line in lines:
        match = _LINE_RE.match(line.strip())
        if match is None:
            continue
        _, simplified, pinyin, _ = match.groups()
        syllables = pinyin.lower().replace("u:", "v").split()
        count = frequency.get(simplified, 0)
        if len(syllables) < 2 or count <= 0 or not all(s[:-1].isalpha() and s[-1].isdigit() for s in syllables):
            continue
        key = "".join(s[:-1] for s in syllables)
        if key not in best or best[key][0] < count:
            best[key] = (count, simplified)
    taken = set(english)
    return {key: word for key, (_, word) in best.items() if key not in taken}


def english_words(table: Mapping[str, tuple[str, ...]]) -> set[str]:
    """Every lower-case English word the dictionary's senses use."""
    return {w for senses in table.values() for sense in senses for w in _WORD_RE.findall(sense.lower())}
