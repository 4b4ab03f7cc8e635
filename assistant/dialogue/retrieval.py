"""Context-aware retrieval: the plain query and, for follow-ups, the query with the last topic carried in."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from assistant.dialogue.context import GENERIC_MAX_CONTENT_WORDS, content_words, follow_up_kind, names_only_actions
from assistant.dialogue.decision import Source, TraceQuery
from assistant.dialogue.persistence import PROBLEM_PERSISTS, names_nothing_else
from assistant.dialogue.ports import FaqRetriever
from knowledge_base.models import Hit, SearchResult

TRACE_HITS = 3
TOPIC_EVIDENCE = 0.5  # an on-topic hit needs at least this share of the answerable bar
# The follow-up was read as being about the last answer's topic.
TOPIC_NOTES = ("topic_kept", "topic_repeated", PROBLEM_PERSISTS)


@dataclass(frozen=True)
class Retrieval:
    """The chosen search result, whether it leaned on the previous topic, and every query tried."""

    result: SearchResult
    follow_up: bool
    queries: tuple[TraceQuery, ...]
    note: str | None = None


def trace_query(result: SearchResult, context: str | None, chosen: bool) -> TraceQuery:
    """The trace record of one search: query, context, and the best hits."""
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
    last_category: str | None = None,
    named_evidence: float = TOPIC_EVIDENCE,
    persists: bool = False,
) -> Retrieval:
    """Search `text` alone and, given a `context` (last answered question), as a follow-up; the surer reading wins.

    Both scores are calibrated probabilities that the top entry answers the message, so they compare directly.
    The follow-up reading only counts when it stays within the topic's category or lands on an entry naming
    what the message names ("那优惠券呢" after points expiry): the context may complete a message ("取消了还能用到
    月底吗" after cancelling auto-renewal), not lend confidence to an unrelated entry the message does not support.
    `named_evidence` is the share of the answerable bar an on-topic entry naming the follow-up's word needs.
    `persists`: the message reports that the problem just answered is still there (see `persistence`).
    """
    if context is None:
        plain = kb.search(text, top_k=top_k, vector=vector)
        return Retrieval(plain, False, (trace_query(plain, None, True),))
    # Both readings in one batch: the knowledge base embeds what they share (the message's gloss) once.
    vectors = None if vector is None else np.vstack([vector, vector])
    plain, contextual = kb.search_batch([text, text], top_k=top_k, contexts=[None, context], vectors=vectors)
    kind = follow_up_kind(text)
    top = contextual.top
    on_topic = top is not None and (
        not last_category or top.category == last_category or _mentions(top, content_words(text))
    )
    # "那会员呢" asks about something new: a follow-up reading that only repeats the last answer loses to a
    # plain reading that finds something else.
    repeats = kind == "anaphoric" and _top_id(contextual) == last_faq_id and plain.answerable
    # "能关掉吗" after the AI-training opt-out names only an action: what it acts on comes from the conversation,
    # so a sure follow-up reading on the topic wins even where the verb alone matched something else more strongly.
    acts_on_topic = (
        top is not None and bool(last_category) and top.category == last_category and names_only_actions(text)
    )
    use_context = (
        contextual.answerable
        and on_topic
        and not repeats
        and (not plain.answerable or _top_score(contextual) > _top_score(plain) or acts_on_topic)
    )
    # Neither reading is sure: keep the one on the topic that comes closer, so that a weak answer the topic backs
    # (see `corroboration`) is judged on the follow-up reading.
    closer = (
        not contextual.answerable
        and not plain.answerable
        and on_topic
        and not repeats
        and _top_score(contextual) > _top_score(plain)
    )
    use_context = use_context or closer
    chosen = contextual if use_context else plain
    queries = (trace_query(plain, None, not use_context), trace_query(contextual, context, use_context))
    # A sure reading of another entry means the statement names something new ("之前那个号已经停机了 换了新号"
    # after the SMS-code answer is about changing the phone number), not that the last problem persists.
    # A report naming nothing but the persistence ("still doesn't work") names no other entry, whatever its
    # predicate matched ("my coupon isn't working").
    elsewhere = any(r.answerable and _top_id(r) != last_faq_id for r in (plain, chosen)) and not (
        persists and names_nothing_else(text)
    )
    if persists and last_faq_id is not None and not elsewhere:
        # "换了网络也还是卡" after the stutter advice names no new question the FAQ answers: it is still that one.
        repeated = _repeat_last(kb, plain, contextual, last_faq_id)
        if repeated is not None:
            return Retrieval(repeated, True, queries, PROBLEM_PERSISTS)
    if kind is not None:
        # Even when it agrees with the chosen reading, the topic settles which of close candidates is meant.
        kept = _keep_topic(kb, text, plain, contextual, last_faq_id, last_category, named_evidence)
        if kept is not None:
            return Retrieval(kept[0], True, queries, kept[1])
    return Retrieval(chosen, use_context, queries)


def _mentions(hit: Hit, words: list[str]) -> bool:
    wording = f"{hit.question} {hit.matched}".lower()
    return all(w in wording for w in words)


def _keep_topic(
    kb: FaqRetriever,
    text: str,
    plain: SearchResult,
    contextual: SearchResult,
    last_faq_id: str | None,
    last_category: str | None,
    named_evidence: float,
) -> tuple[SearchResult, str] | None:
    """A generic follow-up ("过期了呢", "怎么申请", "how long does it take?") stays on the topic just answered.

    Its own words name at most one thing, so a confident plain hit elsewhere mostly matched question words. The
    best entry of the topic's category that either reading found and that mentions the follow-up's own word wins
    when it has real evidence (at least half the answerable bar; when it names the follow-up's word, that
    agreement backs it and `named_evidence` suffices, see `corroboration`); a follow-up naming nothing at all,
    with no such entry, is about the last answer itself.
    """
    own = content_words(text)
    if len(own) > GENERIC_MAX_CONTENT_WORDS or not last_category:
        return None
    floor = min(plain.threshold, contextual.threshold) * (
        min(named_evidence, TOPIC_EVIDENCE) if own else TOPIC_EVIDENCE
    )
    on_topic = [
        h
        for h in (*plain.hits, *contextual.hits)
        if h.category == last_category and h.score >= floor and _mentions(h, own)
    ]
    if on_topic:
        best = max(on_topic, key=lambda h: h.score)
        return _only(contextual, best), "topic_kept"
    # "怎么关掉" after the AI-training opt-out names an action, not a new thing: when even the follow-up reading
    # finds nothing sure, it asks how to do that to the last answer's topic, not about whatever else "关" matches.
    # So does one whose follow-up reading lands off the topic on the entry the message alone found, and no surer
    # for the topic ("多久能收到" after the invoice answer finds the refund's arrival time either way): the verb
    # matched there, the conversation says what it acts on. ("能退吗" after the membership benefits differs: the
    # topic made the membership refund surer.)
    top = contextual.top
    off_topic = (
        top is not None
        and top.category != last_category
        and top.id == _top_id(plain)
        and top.score <= _top_score(plain)
    )
    acts_on_topic = (not contextual.answerable or off_topic) and names_only_actions(text)
    if (own and not acts_on_topic) or last_faq_id is None:
        return None
    repeated = _repeat_last(kb, plain, contextual, last_faq_id)
    return None if repeated is None else (repeated, "topic_repeated")


def _repeat_last(
    kb: FaqRetriever, plain: SearchResult, contextual: SearchResult, last_faq_id: str
) -> SearchResult | None:
    """The last answered entry as the result, scored at least at the answerable bar (None if it is gone)."""
    entry = kb.get(last_faq_id)
    if entry is None:
        return None
    found = [h.score for h in (*plain.hits, *contextual.hits) if h.id == last_faq_id]
    score = max(found, default=contextual.threshold)
    hit = Hit(entry.id, max(score, contextual.threshold), entry.question, entry.category)
    return _only(contextual, hit)


def _only(result: SearchResult, hit: Hit) -> SearchResult:
    return SearchResult(result.query, (hit,), True, result.threshold)
