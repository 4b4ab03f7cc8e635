"""Context-aware retrieval: the plain query and, for follow-ups, the query with the last topic carried in."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from assistant.dialogue.context import follow_up_kind
from assistant.dialogue.decision import Source, TraceQuery
from assistant.dialogue.ports import FaqRetriever
from knowledge_base.models import SearchResult

TRACE_HITS = 3


@dataclass(frozen=True)
class Retrieval:
    """The chosen search result, whether it leaned on the previous topic, and every query tried."""

    result: SearchResult
    follow_up: bool
    queries: tuple[TraceQuery, ...]


def _trace(result: SearchResult, context: str | None, chosen: bool) -> TraceQuery:
    hits = tuple(Source(h.id, round(h.score, 4)) for h in result.hits[:TRACE_HITS])
    return TraceQuery(result.query, context, result.answerable, hits, chosen)


def _top_id(result: SearchResult) -> str | None:
    return result.top.id if result.top else None


def _top_score(result: SearchResult) -> float:
    return result.top.score if result.top else 0.0


def retrieve(
    kb: FaqRetriever,
    text: str,
    *,
    top_k: int,
    vector: np.ndarray | None = None,
    context: str | None = None,
    last_faq_id: str | None = None,
) -> Retrieval:
    """Search `text`; given a `context` (last answered question), also search it as a follow-up if it may be one."""
    plain = kb.search(text, top_k=top_k, vector=vector)
    kind = follow_up_kind(text) if context else None
    if context is None or (kind is None and plain.answerable):
        return Retrieval(plain, False, (_trace(plain, None, True),))
    contextual = kb.search(text, top_k=top_k, context=context, vector=vector)
    if kind == "anaphoric":
        # "那会员呢" means "the same question, about membership": the contextual reading wins unless it only
        # repeats the last answer while the plain reading finds something new.
        repeats = _top_id(contextual) == last_faq_id and plain.answerable and _top_id(plain) != last_faq_id
        use_context = contextual.answerable and not repeats
    elif kind == "short":
        # A terse message may be complete ("怎么退款") or not ("多久到账"): trust whichever reading is surer.
        if contextual.answerable and plain.answerable:
            use_context = _top_score(contextual) >= _top_score(plain)
        else:
            use_context = contextual.answerable
    else:
        # Self-contained but unanswerable alone: the topic may complete it.
        use_context = contextual.answerable
    chosen = contextual if use_context else plain
    queries = (_trace(plain, None, not use_context), _trace(contextual, context, use_context))
    return Retrieval(chosen, use_context, queries)
