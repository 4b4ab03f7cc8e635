"""The handoff packet: what an advisor needs to take over without the user repeating themselves."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from assistant.conversations import Conversation, UserProfile, message_to_json
from storage.ports import StoredMessage

log = logging.getLogger(__name__)

Summarizer = Callable[[list[str]], str]
# Turns that carry no question of their own: asking for a person, greeting, thanking.
NON_QUESTION_INTENTS = frozenset({"human_agent", "greeting", "thanks_goodbye"})
MAX_KEY_POINTS = 3
MAX_SUMMARY_CHARS = 300
MAX_EVIDENCE = 5
_SENTENCE_END = re.compile(r"(?<=[。！？!?；;\n])|(?<=\.)\s+")
_LATIN = re.compile(r"[a-z0-9]+(?:[._-][a-z0-9]+)*")
_CJK = re.compile(r"[\u3400-\u9fff]+")
_SENTIMENT_ORDER = {"negative": 0, "angry": 0, "neutral": 1, "positive": 2}
_ROLE_LABEL = {"user": "用户", "bot": "机器人", "agent": "顾问", "system": "系统"}


def sentences(text: str) -> list[str]:
    """Split a message into sentences on Chinese and Latin sentence ends."""
    return [part.strip() for part in _SENTENCE_END.split(text) if part and part.strip()]


def _units(sentence: str) -> set[str]:
    # Chinese has no spaces: character bigrams stand in for words; Latin words and numbers count whole.
    lowered = sentence.lower()
    units = set(_LATIN.findall(lowered))
    for run in _CJK.findall(lowered):
        units.update(run[i : i + 2] for i in range(max(1, len(run) - 1)))
    return units


def key_points(user_texts: Sequence[str], *, exclude: str = "", limit: int = MAX_KEY_POINTS) -> list[str]:
    """The user's most informative sentences (greedy: most content not already covered), in spoken order."""
    pool = [s for text in user_texts for s in sentences(text) if s != exclude.strip()]
    # Each sentence's units and bonus once, not once per pick: a long conversation hands off with many sentences.
    units = [_units(sentence) for sentence in pool]
    # Numbers are order ids, amounts and dates: the details an advisor needs first.
    bonus = [2.0 if any(ch.isdigit() for ch in sentence) else 0.0 for sentence in pool]
    covered = _units(exclude)
    chosen: list[int] = []
    for _ in range(limit):
        best, best_gain = -1, 0.0
        for index, own in enumerate(units):
            if index in chosen:
                continue
            gain = len(own - covered) + bonus[index]
            if gain > best_gain:
                best, best_gain = index, gain
        if best < 0 or best_gain < 3:
            break
        chosen.append(best)
        covered |= units[best]
    return [pool[i] for i in sorted(chosen)]


def unresolved_question(user_texts: Sequence[str], trail: Sequence[Mapping[str, Any]]) -> str:
    """The last question the bot could not answer (from the trail), else the user's last message."""
    for turn in reversed(trail):
        text = str(turn.get("text") or "").strip()
        if text and not turn.get("faq_id") and turn.get("intent") not in NON_QUESTION_INTENTS:
            return text
    for turn in reversed(trail):
        text = str(turn.get("text") or "").strip()
        if text and turn.get("intent") not in NON_QUESTION_INTENTS:
            return text
    asides = {str(t.get("text") or "").strip() for t in trail if t.get("intent") in NON_QUESTION_INTENTS}
    for text in reversed(user_texts):
        if text.strip() not in asides:
            return text.strip()
    return user_texts[-1].strip() if user_texts else ""


def extractive_summary(user_texts: Sequence[str], question: str) -> str:
    """A short summary for the advisor: the open question and the user's key points."""
    parts = [f"问题：{question}"] if question else []
    points = key_points(user_texts, exclude=question)
    if points:
        parts.append("要点：" + "；".join(p.rstrip("。；;") for p in points))
    summary = "\n".join(parts)
    return summary if len(summary) <= MAX_SUMMARY_CHARS else summary[: MAX_SUMMARY_CHARS - 1] + "…"


def _number(value: Any) -> float | None:
    try:
        return None if value is None else round(float(value), 4)
    except (TypeError, ValueError):
        return None


def _hit(hit: Any) -> dict[str, Any]:
    get = hit.get if isinstance(hit, Mapping) else lambda name: getattr(hit, name, None)
    faq_id = get("id") or get("faq_id") or ""
    return {"id": str(faq_id), "question": str(get("question") or ""), "score": _number(get("score"))}


def queries_tried(turn: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The retrievals a turn tried, each with the evidence it found (or one built from the turn's top hits).

    `turn["kb"]` (or `turn["evidence"]`) is a list of hits (`id`/`faq_id`, `question`, `score`) or a list of
    retrieval traces (`query`, `context`, `answerable`, `hits`, `chosen`) as the dialogue engine records them.
    """
    text = str(turn.get("text") or "")
    faq_id = turn.get("faq_id")
    raw = [item for item in (turn.get("kb") or turn.get("evidence") or []) if item is not None]
    traces = [item for item in raw if isinstance(item, Mapping) and "hits" in item]
    if not traces:
        evidence = [_hit(h) for h in raw][:MAX_EVIDENCE]
        return [
            {
                "text": text,
                "query": text,
                "context": None,
                "found": bool(faq_id),
                "faq_id": faq_id,
                "evidence": evidence,
            }
        ]
    tried: list[dict[str, Any]] = []
    seen: set[tuple[str, Any]] = set()
    for trace in traces:
        key = (str(trace.get("query") or text), trace.get("context"))
        if key in seen:
            continue
        seen.add(key)
        evidence = [_hit(h) for h in trace.get("hits") or []][:MAX_EVIDENCE]
        chosen_faq = faq_id if trace.get("chosen") else None
        found = bool(trace.get("answerable"))
        tried.append(
            {
                "text": text,
                "query": key[0],
                "context": key[1],
                "found": found,
                "faq_id": chosen_faq,
                "evidence": evidence,
            }
        )
    return tried


def overall_sentiment(values: Sequence[Any]) -> Any:
    """The worst sentiment seen: the lowest score, else the most negative label, else None."""
    scores = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    if scores:
        return round(min(float(s) for s in scores), 4)
    labels = [str(v) for v in values if isinstance(v, str) and v]
    if not labels:
        return None
    return min(labels, key=lambda label: _SENTIMENT_ORDER.get(label, 1))


def build_packet(
    conversation: Conversation,
    user: UserProfile | None,
    messages: Sequence[StoredMessage],
    *,
    reason: str,
    trail: Sequence[Mapping[str, Any]],
    summarizer: Summarizer | None = None,
) -> dict[str, Any]:
    """Assemble the packet: transcript, summary, reason, intents, queries with evidence, user, sentiment."""
    user_texts = [m.text for m in messages if m.role == "user" and m.text.strip()]
    question = unresolved_question(user_texts, trail)
    summary = extractive_summary(user_texts, question)
    if summarizer is not None:
        lines = [f"{_ROLE_LABEL.get(m.role, m.role)}: {m.text}" for m in messages if m.text.strip()]
        try:
            summary = summarizer(lines).strip() or summary
        except Exception:  # an LLM outage must not block the handoff; the extractive summary stands
            log.warning("handoff summarizer failed; using the extractive summary", exc_info=True)
    intents, queries = [], []
    for turn in trail:
        text = str(turn.get("text") or "")
        intents.append(
            {
                "text": text,
                "intent": turn.get("intent"),
                "confidence": _number(turn.get("confidence")),
                "action": turn.get("action"),
                "sentiment": turn.get("sentiment"),
            }
        )
        if text and turn.get("intent") not in NON_QUESTION_INTENTS:
            queries.extend(queries_tried(turn))
    return {
        "transcript": [message_to_json(m) for m in messages],
        "summary": summary,
        "unresolved_question": question,
        "reason": reason,
        "intent_trail": intents,
        "queries": queries,
        "user": {
            "id": conversation.user_id,
            "tier": conversation.tier or (user.tier if user else "free"),
            "name": conversation.user_name or (user.name if user else ""),
        },
        "channel": conversation.channel,
        "locale": conversation.locale,
        "sentiment": overall_sentiment([t.get("sentiment") for t in trail]),
    }
