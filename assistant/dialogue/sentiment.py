"""A small lexicon-based sentiment scorer for Chinese and English support messages (VADER-style rules).

The lexicon is product knowledge about how upset learners write to a paid-course platform (垃圾, 骗子, 投诉,
refund my money ...); it is not fitted to any test set. Scores run from -1 (furious) to 1 (delighted).
"""

from __future__ import annotations

import math
import re
from functools import lru_cache

from assistant.text import CJK_CHARS, normalize

# Valence on a -4..4 scale; multi-character and multi-word terms win over their parts (longest match).
_VALENCE: dict[str, float] = {
    # zh negative
    "垃圾": -3.5, "骗子": -3.5, "骗钱": -3.5, "骗人": -3.5, "欺骗": -3.5, "诈骗": -3.5, "忽悠": -3.0,
    "坑人": -3.0, "坑爹": -3.0, "坑": -2.0, "黑心": -3.5, "上当": -3.0, "气死": -3.5, "生气": -3.0,
    "愤怒": -3.5, "火大": -3.0, "恼火": -3.0, "烦死": -3.0, "烦": -2.0, "恶心": -3.0, "无语": -2.0,
    "失望": -2.5, "后悔": -2.5, "崩溃": -3.0, "受不了": -2.5, "忍无可忍": -3.5, "投诉": -2.5, "举报": -2.5,
    "差评": -3.0, "差劲": -3.0, "太差": -3.0, "很差": -3.0, "差": -2.0, "烂": -3.0, "糟糕": -3.0,
    "难用": -2.5, "离谱": -2.5, "过分": -2.5, "不满": -2.5, "不像话": -3.0, "搞什么": -2.5,
    "什么破": -3.0, "破课": -3.0, "智障": -3.5, "狗屁": -3.5, "妈的": -3.0, "滚": -3.0, "退钱": -2.0,
    "还钱": -2.0, "还我钱": -3.0, "浪费钱": -3.0, "浪费": -2.0, "白花": -2.5, "着急": -1.5, "焦虑": -1.5,
    "不符": -1.5, "虚假": -3.0, "骗": -3.0, "不行": -1.5, "麻烦死": -3.0,
    # zh positive
    "谢谢": 2.0, "感谢": 2.5, "多谢": 2.0, "辛苦": 1.5, "好的": 1.0, "好": 1.5, "不错": 2.0, "满意": 2.5,
    "喜欢": 2.0, "棒": 2.5, "赞": 2.0, "厉害": 2.0, "有用": 2.0, "有帮助": 2.5, "解决了": 2.0,
    "太好了": 3.0, "开心": 2.5, "方便": 1.5, "清楚": 1.0, "明白了": 1.0, "没问题": 1.0, "给力": 2.5,
    "完美": 3.0, "专业": 1.5, "耐心": 1.5,
    # en negative
    "terrible": -3.0, "awful": -3.0, "horrible": -3.0, "worst": -3.5, "bad": -2.0, "poor": -2.0,
    "useless": -3.0, "scam": -3.5, "scammer": -3.5, "scammers": -3.5, "fraud": -3.5, "rip off": -3.0,
    "ripoff": -3.0, "garbage": -3.5, "trash": -3.0, "rubbish": -3.0, "angry": -3.0, "furious": -3.5,
    "mad": -2.5, "annoyed": -2.0, "annoying": -2.0, "frustrated": -2.5, "frustrating": -2.5,
    "disappointed": -2.5, "disappointing": -2.5, "ridiculous": -2.5, "unacceptable": -3.0, "hate": -3.0,
    "sucks": -3.0, "complain": -2.0, "complaint": -2.0, "refund my money": -2.5,
    "give me my money back": -3.0, "money back": -1.5, "waste": -2.0, "wasted": -2.5, "broken": -1.5,
    "liar": -3.5, "liars": -3.5, "cheated": -3.5, "stupid": -3.0, "damn": -2.5, "wtf": -3.0,
    "never again": -3.0, "sue": -3.0, "lawyer": -2.0, "thief": -3.5, "thieves": -3.5, "steal": -3.0,
    "stealing": -3.5, "stole": -3.0, "stolen": -3.0, "robbed": -3.5, "robbery": -3.5, "chargeback": -2.5,
    # en positive
    "thanks": 2.0, "thank": 2.0, "great": 3.0, "good": 1.9, "helpful": 2.0, "love": 3.0, "perfect": 3.0,
    "excellent": 3.2, "awesome": 3.1, "nice": 1.8, "happy": 2.7, "appreciate": 2.5, "solved": 2.0,
    "cool": 1.3,
    # neutral words that contain a sentiment character (你好 is not praise, 差价 is not a complaint)
    "你好": 0.0, "您好": 0.0, "好像": 0.0, "好吗": 0.0, "好不好": 0.0, "还好": 0.0, "只好": 0.0, "最好": 0.0,
    "好几": 0.0, "好多": 0.0, "差不多": 0.0, "差价": 0.0, "补差": 0.0, "相差": 0.0, "差额": 0.0, "滚动": 0.0,
    # A-not-A questions hold a negator that negates nothing ("你们是不是骗子" is not "not swindlers")
    "是不是": 0.0, "有没有": 0.0, "能不能": 0.0, "会不会": 0.0, "可不可以": 0.0, "对不对": 0.0, "行不行": 0.0,
    "要不要": 0.0, "算不算": 0.0,
}  # fmt: skip
_NEGATORS = (
    "不", "没", "没有", "别", "不是", "并不", "从不", "毫不", "未", "not", "no", "never", "dont", "don't",
    "doesnt", "doesn't", "didnt", "didn't", "isnt", "isn't", "wasnt", "wasn't", "arent", "aren't", "cant",
    "can't", "cannot", "wont", "won't", "hardly",
)  # fmt: skip
_MODIFIERS: dict[str, float] = {
    "很": 1.3, "非常": 1.5, "太": 1.5, "特别": 1.5, "超": 1.4, "超级": 1.5, "真": 1.3, "真的": 1.3,
    "极其": 1.6, "简直": 1.5, "十分": 1.4, "巨": 1.5, "very": 1.3, "so": 1.3, "really": 1.3,
    "extremely": 1.6, "totally": 1.4, "absolutely": 1.5, "completely": 1.4, "incredibly": 1.5,
    "super": 1.4, "有点": 0.6, "有些": 0.6, "稍微": 0.6, "略": 0.6, "a bit": 0.6, "a little": 0.6,
    "slightly": 0.6, "somewhat": 0.6, "kind of": 0.7, "kinda": 0.7,
}  # fmt: skip
_CONTRASTS = ("但是", "但", "可是", "不过", "然而", "but", "however")
# Words that are sentiment on their own but act as intensifiers right before another sentiment word (好烦).
_ADVERB_USE = {"好": 1.4, "真": 1.3}

_NEGATION_SCALE = -0.74  # a negated word flips and weakens (VADER)
_NEGATION_WINDOW = 3  # units between a negator and the word it negates
_EXCLAMATION_BOOST = 0.292  # per "!" up to four
_CAPS_BOOST = 0.733  # a SHOUTED word in otherwise normal text
_ALPHA = 15.0  # normalisation constant of VADER: score = s / sqrt(s^2 + alpha)

_UNIT_RE = re.compile(f"[{CJK_CHARS}]|[a-z]+(?:'[a-z]+)?|[!?.,;:，。！？；：、]")
_CLAUSE_END = set(",.;:!?，。！？；：、")
_CAPS_RE = re.compile(r"\b[A-Z]{3,}\b")
_WORD_RE = re.compile(r"\b[A-Za-z]{3,}\b")


_CJK_SPACE_RE = re.compile(f"(?<=[{CJK_CHARS}])\\s+|\\s+(?=[{CJK_CHARS}])")


def _clauses(text: str) -> str:
    # Chinese users separate clauses with spaces ("两个星期了还没到 骗子公司"): a space beside Chinese ends a
    # clause, so a negator in one ("没到") does not flip a word of the next ("骗子").
    return _CJK_SPACE_RE.sub("，", text)


def _units(text: str) -> tuple[str, ...]:
    # A Chinese character or a Latin word is one unit, so terms of both languages match the same way.
    return tuple(_UNIT_RE.findall(text))


@lru_cache(maxsize=1)
def _table() -> tuple[dict[tuple[str, ...], tuple[str, float]], int]:
    table: dict[tuple[str, ...], tuple[str, float]] = {}
    for term in _NEGATORS:
        table[_units(term)] = ("neg", _NEGATION_SCALE)
    for term, factor in _MODIFIERS.items():
        table[_units(term)] = ("mod", factor)
    for term in _CONTRASTS:
        table[_units(term)] = ("but", 0.0)
    for term, valence in _VALENCE.items():
        table[_units(term)] = ("val", valence)
    return table, max(len(k) for k in table)


def _shouted(text: str) -> set[str]:
    caps = {w.lower() for w in _CAPS_RE.findall(text)}
    # When everything is in capitals nothing stands out.
    return caps if caps and len(caps) < len(_WORD_RE.findall(text)) else set()


def score_sentiment(text: str) -> float:
    """Sentiment of one message in [-1, 1]: negative for upset, positive for pleased, 0 for neutral."""
    table, longest = _table()
    units = _units(_clauses(normalize(text)))
    shouted = _shouted(text)
    scores: list[float] = []
    negate_until = -1
    modifier = 1.0
    contrast_at: int | None = None
    i = 0
    while i < len(units):
        match = next(
            ((units[i : i + n], table[units[i : i + n]]) for n in range(longest, 0, -1) if units[i : i + n] in table),
            None,
        )
        if match is None:
            if units[i] in _CLAUSE_END:
                negate_until, modifier = -1, 1.0
            i += 1
            continue
        term, (kind, value) = match
        follows_sentiment = i + len(term) < len(units) and any(
            units[i + len(term) : i + len(term) + n] in table
            and table[units[i + len(term) : i + len(term) + n]][0] == "val"
            for n in range(1, longest + 1)
        )
        if kind == "val" and term[0] in _ADVERB_USE and len(term) == 1 and follows_sentiment:
            kind, value = "mod", _ADVERB_USE[term[0]]
        if kind == "neg":
            negate_until = i + len(term) + _NEGATION_WINDOW
        elif kind == "mod":
            modifier *= value
        elif kind == "but":
            contrast_at = len(scores)
        else:
            valence = value * modifier
            if " ".join(term) in shouted:
                valence += math.copysign(_CAPS_BOOST, valence)
            if i < negate_until:
                valence *= _NEGATION_SCALE
            scores.append(valence)
            negate_until, modifier = -1, 1.0
        i += len(term)
    if contrast_at is not None:
        # What follows "but" is what the writer means.
        scores = [s * (0.5 if k < contrast_at else 1.5) for k, s in enumerate(scores)]
    total = sum(scores)
    if total:
        total += math.copysign(min(text.count("!") + text.count("！"), 4) * _EXCLAMATION_BOOST, total)
    return max(-1.0, min(1.0, total / math.sqrt(total * total + _ALPHA)))
