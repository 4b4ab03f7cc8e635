"""Reading replies to a clarification question: flow options, FAQ candidates, ordinals, fuzzy matches."""

from __future__ import annotations

import re
from difflib import SequenceMatcher

from assistant.dialogue.flows import Flow, FlowOption
from assistant.dialogue.state import Candidate
from assistant.text import normalize
from knowledge_base.models import SearchResult

FUZZY_MIN_RATIO = 0.6  # below this a typo'd reply is more likely something else
MAX_CANDIDATES = 3
_NEGATORS = ("不是", "不要", "不用", "不", "没", "非", "not ", "no ", "not a ", "isn't ", "don't ")
_LATIN_RE = re.compile(r"^[a-z0-9 '\-]+$")
_ORDINALS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (0, ("1", "第一", "第一个", "第1个", "first", "the first", "the first one", "first one", "①")),
    (1, ("2", "第二", "第二个", "第2个", "second", "the second", "the second one", "second one", "②")),
    (2, ("3", "第三", "第三个", "第3个", "third", "the third", "the third one", "third one", "③")),
    (-1, ("最后一个", "最后那个", "last", "the last", "the last one", "last one")),
)


def _occurrences(text: str, term: str) -> list[int]:
    if _LATIN_RE.match(term):
        return [m.start() for m in re.finditer(rf"(?<![a-z0-9]){re.escape(term)}(?![a-z0-9])", text)]
    return [m.start() for m in re.finditer(re.escape(term), text)]


def _negated(text: str, at: int) -> bool:
    before = text[max(0, at - 6) : at]
    return before.rstrip().endswith(tuple(n.strip() for n in _NEGATORS))


def mentioned_option(text: str, flow: Flow) -> FlowOption | None:
    """The option whose synonym or title the text mentions (longest wins, negated mentions don't count)."""
    norm = normalize(text)
    best: dict[str, int] = {}
    for option in flow.options:
        for term in option.match_terms:
            if any(not _negated(norm, at) for at in _occurrences(norm, term)):
                best[option.payload] = max(best.get(option.payload, 0), len(term))
    if not best:
        return None
    ranked = sorted(best.items(), key=lambda kv: kv[1], reverse=True)
    if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
        return None  # "课程和会员" names both: ask rather than guess
    return flow.option(ranked[0][0])


def _similarity(a: str, b: str) -> float:
    return SequenceMatcher(None, a, b).ratio()


def match_option(text: str, flow: Flow) -> FlowOption | None:
    """The option a free-text reply selects: a mention, then the closest title/synonym if close enough."""
    found = mentioned_option(text, flow)
    if found is not None:
        return found
    norm = normalize(text)
    scored = sorted(
        ((max(_similarity(norm, t) for t in o.match_terms), o) for o in flow.options if o.match_terms),
        key=lambda pair: pair[0],
        reverse=True,
    )
    if scored and scored[0][0] >= FUZZY_MIN_RATIO and (len(scored) == 1 or scored[0][0] > scored[1][0]):
        return scored[0][1]
    return None


def _ordinal(norm: str) -> int | None:
    cleaned = re.sub(r"[\s。.!！?？、,，]+$", "", norm).strip()
    cleaned = re.sub(r"^(?:选|我选|要|是)", "", cleaned)
    cleaned = re.sub(r"(?:吧|啊|呀)$", "", cleaned)
    for index, words in _ORDINALS:
        if cleaned in words:
            return index
    return None


def match_candidate(text: str, candidates: tuple[Candidate, ...]) -> Candidate | None:
    """The FAQ candidate a reply picks: by position ("第二个", "2"), by quoting it, or by paraphrase."""
    if not candidates:
        return None
    norm = normalize(text)
    index = _ordinal(norm)
    if index is not None:
        return candidates[index] if -len(candidates) <= index < len(candidates) else None
    questions = [normalize(c.question) for c in candidates]
    quoted = [c for c, q in zip(candidates, questions, strict=True) if norm and (norm in q or q in norm)]
    if len(quoted) == 1:
        return quoted[0]
    scored = sorted(
        ((_similarity(norm, q), c) for q, c in zip(questions, candidates, strict=True)),
        key=lambda pair: pair[0],
        reverse=True,
    )
    if scored[0][0] >= FUZZY_MIN_RATIO and (len(scored) == 1 or scored[0][0] > scored[1][0]):
        return scored[0][1]
    return None


def close_candidates(result: SearchResult, margin: float) -> tuple[Candidate, ...]:
    """The hits within `margin` of the best one (at most three, distinct); two or more mean "ask which"."""
    top = result.top
    if top is None or margin <= 0:
        return ()
    seen: set[str] = set()
    out: list[Candidate] = []
    for hit in result.hits:
        if top.score - hit.score >= margin or hit.id in seen:
            continue
        seen.add(hit.id)
        out.append(Candidate.of(hit))
        if len(out) == MAX_CANDIDATES:
            break
    return tuple(out)
