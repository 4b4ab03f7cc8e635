"""Synthetic user queries from FAQ questions: typos, homophones, pinyin, fillers, truncation (calibration only)."""

from __future__ import annotations

import random
import re
from collections import defaultdict
from collections.abc import Callable, Mapping
from functools import lru_cache

from assistant import text as _text
from assistant.text import has_cjk
from knowledge_base.analysis import analyze, stopwords, synonyms

_CJK_CHAR = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_PUNCT = re.compile(r"[，。？！、；：,.?!;:]+")
_ZH_PREFIXES = ("请问", "我想问一下", "你好，", "麻烦问下", "那个", "想咨询下", "问下", "客服，")
_ZH_SUFFIXES = ("啊", "呢", "吗", "呀", "？", "啊？", "谢谢")
_EN_PREFIXES = ("hi, ", "hello ", "please ", "hey, quick question: ", "can you tell me ", "i want to know ")
# Users wrap their question in circumstances; generic clauses (no topic) make calibration positives as
# wordy as real messages.
_ZH_CLAUSES = (
    "我昨天", "刚刚", "一直这样", "试了好几次了", "网络是好的", "有点急", "麻烦帮我看看", "怎么回事",
    "已经重启过了", "上个月", "我是新用户", "我是老用户了", "在手机上", "之前都好好的", "朋友推荐的",
    "不太懂", "第一次用", "找了半天", "在线等", "谢谢啦",
)  # fmt: skip
_EN_CLAUSES = ("i tried several times", "please help", "it's urgent", "yesterday", "on my phone", "thanks")


def _is_common(char: str) -> bool:
    # GB2312 level 1 holds the 3,755 most common characters; rarer ones make implausible typos.
    try:
        code = char.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return len(code) == 2 and 0xB0 <= code[0] <= 0xD7


@lru_cache(maxsize=1)
def homophones() -> Mapping[str, tuple[str, ...]]:
    """Common characters grouped by toneless pinyin (退款 -> 退宽), from jieba's dictionary frequencies."""
    from pypinyin import Style, lazy_pinyin

    freq = _text._get_jieba().FREQ
    chars = [(w, f) for w, f in freq.items() if len(w) == 1 and f > 0 and _is_common(w)]
    groups: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for char, count in chars:
        groups[lazy_pinyin(char, style=Style.NORMAL)[0]].append((char, count))
    out: dict[str, tuple[str, ...]] = {}
    for members in groups.values():
        ranked = [c for c, _ in sorted(members, key=lambda m: -m[1])]
        for char in ranked:
            others = tuple(c for c in ranked if c != char)[:8]
            if others:
                out[char] = others
    return out


def _cjk_positions(text: str) -> list[int]:
    return [i for i, ch in enumerate(text) if _CJK_CHAR.match(ch)]


def _drop_char(text: str, rng: random.Random) -> str:
    positions = _cjk_positions(text)
    if len(positions) < 4:
        return text
    i = rng.choice(positions[1:])
    return text[:i] + text[i + 1 :]


def _swap_chars(text: str, rng: random.Random) -> str:
    positions = [i for i in _cjk_positions(text) if i + 1 < len(text) and _CJK_CHAR.match(text[i + 1])]
    if not positions:
        return text
    i = rng.choice(positions)
    return text[:i] + text[i + 1] + text[i] + text[i + 2 :]


def _homophone(text: str, rng: random.Random) -> str:
    table = homophones()
    stop = stopwords()
    content = "".join(w for w in analyze(text).words if has_cjk(w) and w not in stop)
    positions = [i for i in _cjk_positions(text) if text[i] in table and text[i] in content]
    if not positions:
        return text
    i = rng.choice(positions)
    return text[:i] + rng.choice(table[text[i]][:4]) + text[i + 1 :]


def _pinyin_word(text: str, rng: random.Random) -> str:
    from pypinyin import Style, lazy_pinyin

    words = [w for w in analyze(text).words if has_cjk(w) and len(w) >= 2 and w in text]
    if not words:
        return text
    word = rng.choice(words)
    return text.replace(word, "".join(lazy_pinyin(word, style=Style.NORMAL)), 1)


def _filler(text: str, rng: random.Random) -> str:
    core = _PUNCT.sub("", text) if rng.random() < 0.5 else text
    if has_cjk(text):
        return rng.choice(_ZH_PREFIXES) + core if rng.random() < 0.5 else core + rng.choice(_ZH_SUFFIXES)
    return rng.choice(_EN_PREFIXES) + core[:1].lower() + core[1:]


def _keywords(text: str, rng: random.Random) -> str:
    words = list(analyze(text).words)
    words = [w for w in words if w in text.lower()] or words
    if len(words) < 2:
        return text
    if len(words) >= 3 and rng.random() < 0.5:
        words.pop(rng.randrange(len(words)))
    return (" " if rng.random() < 0.5 or not has_cjk(text) else "").join(words)


def _clause(text: str, rng: random.Random) -> str:
    if has_cjk(text):
        clause = rng.choice(_ZH_CLAUSES)
        return f"{clause}，{text}" if rng.random() < 0.5 else f"{text}，{clause}"
    clause = rng.choice(_EN_CLAUSES)
    return f"{clause}, {text}" if rng.random() < 0.5 else f"{text} {clause}"


def _drop_word(text: str, rng: random.Random) -> str:
    words = [w for w in analyze(text).words if w in text]
    if len(words) < 3:
        return text
    return text.replace(rng.choice(words), "", 1)


def _synonym(text: str, rng: random.Random) -> str:
    table = synonyms()
    groups: dict[str, list[str]] = {}
    for word, canonical in table.items():
        groups.setdefault(canonical, []).append(word)
    lowered = text.lower()
    present = [
        w
        for w in table
        if len(w) >= 2 and len(groups[table[w]]) > 1 and (re.search(rf"\b{w}\b", lowered) if w.isascii() else w in text)
    ]
    if not present:
        return text
    word = rng.choice(present)
    other = rng.choice([w for w in groups[table[word]] if w != word])
    pattern = rf"\b{re.escape(word)}\b" if word.isascii() else re.escape(word)  # `renew` not inside `renewal`
    return re.sub(pattern, other, text, count=1, flags=re.IGNORECASE)


def _latin_typo(text: str, rng: random.Random) -> str:
    words = list(re.finditer(r"[A-Za-z]{4,}", text))
    if not words:
        return text
    m = rng.choice(words)
    word = m.group(0)
    i = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(3)
    if kind == 0:
        new = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    elif kind == 1:
        new = word[:i] + word[i + 1 :]
    else:
        new = word[:i] + word[i] + word[i:]
    return text[: m.start()] + new + text[m.end() :]


_ZH_OPS: tuple[Callable[[str, random.Random], str], ...] = (
    _drop_char,
    _swap_chars,
    _homophone,
    _homophone,
    _pinyin_word,
    _filler,
    _filler,
    _keywords,
    _clause,
    _clause,
    _drop_word,
    _synonym,
)
_EN_OPS: tuple[Callable[[str, random.Random], str], ...] = (
    _latin_typo,
    _filler,
    _keywords,
    _latin_typo,
    _clause,
    _drop_word,
    _synonym,
)


def perturb(text: str, rng: random.Random, max_ops: int = 2) -> str:
    """A plausible user rewording of `text`: one or two random edits, deterministic for a seeded `rng`."""
    ops = _ZH_OPS if has_cjk(text) else _EN_OPS
    out = text
    for _ in range(rng.randint(1, max_ops)):
        out = rng.choice(ops)(out, rng)
    return out.strip() or text
