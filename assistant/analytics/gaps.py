"""Knowledge gaps: the questions that ended in a fallback or a handoff, grouped by meaning, biggest first."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from assistant import events as ev
from assistant.analytics.clustering import ClusterConfig, cluster_matrix, default_config, medoid, similarity
from assistant.analytics.metrics import OUTCOME_GRACE
from assistant.analytics.models import GapCluster, GapExample, GapReport, Proposal
from assistant.analytics.periods import Period
from assistant.embedding import Embedder
from assistant.text import normalize
from storage.ports import StoredEvent

GAP_EVENTS: tuple[str, ...] = (ev.FALLBACK, ev.TURN_UNRESOLVED, ev.TICKET_RESOLVED)
# Turns that only ask for a person or say hello are not questions the knowledge base could answer.
NOT_QUESTIONS = frozenset({"human_agent", "greeting", "thanks_goodbye"})
# Beyond this many distinct texts the most asked are kept: the similarity matrix grows with the square.
MAX_DISTINCT = 3000
MIN_CHARS = 2


@dataclass
class GapText:
    """One distinct unanswered question (texts equal after normalisation count as one)."""

    text: str
    count: int = 0
    fallbacks: int = 0
    handoffs: int = 0
    first_at: float = 0.0
    last_at: float = 0.0
    users: set[str] = field(default_factory=set)
    conversations: set[str] = field(default_factory=set)


@dataclass
class GapInput:
    """What the events of a period say about gaps: the distinct texts and the tickets resolved per conversation."""

    texts: list[GapText]
    resolved: dict[str, list[str]]
    total: int
    truncated: bool = False


def reading_window(period: Period) -> tuple[float, float]:
    """The time range of events gap analysis reads (the period, and later resolutions of its tickets)."""
    return period.start, period.end + OUTCOME_GRACE


def collect(events: Iterable[StoredEvent], period: Period, *, max_distinct: int = MAX_DISTINCT) -> GapInput:
    """Gather unanswered questions asked in the period and the tickets that resolved their conversations."""
    texts: dict[str, GapText] = {}
    resolved: dict[str, list[str]] = {}
    total = 0
    for event in events:
        if event.type == ev.TICKET_RESOLVED:
            ticket_id = str(event.data.get("ticket_id") or "")
            if ticket_id:
                resolved.setdefault(event.conversation_id, []).append(ticket_id)
            continue
        if event.type not in (ev.FALLBACK, ev.TURN_UNRESOLVED) or not period.contains(event.at):
            continue
        if not _is_question(event):
            continue
        raw = str(event.data.get("text") or "").strip()
        key = _key(raw)
        if len(key) < MIN_CHARS:
            continue
        total += 1
        entry = texts.get(key)
        if entry is None:
            entry = texts[key] = GapText(raw, first_at=event.at)
        entry.count += 1
        entry.last_at = event.at
        if event.type == ev.FALLBACK:
            entry.fallbacks += 1
        else:
            entry.handoffs += 1
        if event.user_id:
            entry.users.add(event.user_id)
        entry.conversations.add(event.conversation_id)
    kept = list(texts.values())
    truncated = len(kept) > max_distinct
    if truncated:
        kept = sorted(kept, key=lambda t: (-t.count, -t.last_at))[:max_distinct]
    return GapInput(kept, resolved, total, truncated)


def _key(text: str) -> str:
    # Texts differing only in case, width, spacing or punctuation ("吗?" / "吗？") are the same question.
    return " ".join("".join(ch if ch.isalnum() else " " for ch in normalize(text)).split())


def _is_question(event: StoredEvent) -> bool:
    data = event.data
    if data.get("quick_reply") or data.get("intent") in NOT_QUESTIONS:
        return False
    # "转人工" / "talk to a person": the question itself was asked (and recorded) in an earlier turn.
    return not (event.type == ev.TURN_UNRESOLVED and data.get("reason") == "explicit_request")


# Given a cluster's texts (closest to its centre first), an FAQ entry to propose, or None.
ProposalFinder = Callable[[Sequence[GapText], dict[str, list[str]]], Proposal | None]


def build_report(
    found: GapInput,
    period: Period,
    embedder: Embedder | None,
    *,
    config: ClusterConfig | None = None,
    propose: ProposalFinder | None = None,
    limit: int = 20,
    examples: int = 5,
) -> GapReport:
    """Cluster the texts and describe the `limit` biggest clusters (with a proposal where an advisor answered)."""
    began = time.perf_counter()
    chosen = config or default_config(embedder)
    items = found.texts
    sim = similarity([t.text for t in items], embedder, chosen)
    groups = cluster_matrix(sim, chosen.threshold)
    sizes = {i: sum(items[m].count for m in g) for i, g in enumerate(groups)}
    order = sorted(range(len(groups)), key=lambda i: (-sizes[i], -len(groups[i]), groups[i][0]))
    clusters: list[GapCluster] = []
    for rank, index in enumerate(order[:limit], start=1):
        members = groups[index]
        centre = medoid(sim, members, [items[m].count for m in members])
        ranked = sorted(members, key=lambda m: (-float(sim[centre, m]), -items[m].count))
        texts = [items[m] for m in ranked]
        clusters.append(
            GapCluster(
                id=f"gap-{rank}",
                title=items[centre].text,
                size=sizes[index],
                distinct=len(members),
                conversations=len(set().union(*(t.conversations for t in texts))),
                fallbacks=sum(t.fallbacks for t in texts),
                handoffs=sum(t.handoffs for t in texts),
                first_at=min(t.first_at for t in texts),
                last_at=max(t.last_at for t in texts),
                examples=[
                    GapExample(t.text, t.count, "fallback" if t.fallbacks >= t.handoffs else "handoff")
                    for t in texts[:examples]
                ],
                proposal=propose(texts, found.resolved) if propose is not None else None,
            )
        )
    start, end = period.iso()
    return GapReport(
        start=start,
        end=end,
        texts=found.total,
        distinct_texts=len(items),
        clusters=clusters,
        truncated=found.truncated,
        embedding=embedder is not None and chosen.latin_embedding_weight > 0,
        seconds=round(time.perf_counter() - began, 4),
    )
