"""Replies to the question the assistant is waiting on: an option or entry picked, a narrower question, a new one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from assistant.dialogue.clarification import match_candidate, match_option
from assistant.dialogue.context import follow_up_kind, is_question
from assistant.dialogue.decision import FAQ_PAYLOAD_PREFIX, HANDOFF_PAYLOAD
from assistant.dialogue.flows import Flows
from assistant.dialogue.ports import FaqRetriever
from assistant.dialogue.replies import Replies
from assistant.dialogue.retrieval import Retrieval, trace_query
from assistant.dialogue.smalltalk import SMALLTALK_INTENTS
from assistant.dialogue.state import PendingClarification
from assistant.dialogue.turn import Outcome, TurnContext
from knowledge_base.models import SearchResult


class PendingQuestion:
    """Reads quick replies and replies to a pending clarification; the engine decides the rest of the turn."""

    def __init__(
        self,
        kb: FaqRetriever,
        flows: Flows,
        replies: Replies,
        *,
        top_k: int,
        search: Callable[[TurnContext], Retrieval],
        reply_from: Callable[[TurnContext, SearchResult], Outcome],
        backed_share: float = 1.0,
    ) -> None:
        self._kb = kb
        self._flows = flows
        self._replies = replies
        self._top_k = top_k
        self._search = search  # the turn's (cached) retrieval
        self._reply_from = reply_from  # answer, ask which, or fall back, from a search result
        self._backed_share = backed_share  # share of the answerable bar that evidence another signal backs needs

    def on_quick_reply(self, t: TurnContext, payload: str) -> Outcome | None:
        """A button's meaning: a person, an FAQ entry, or a flow option (also from an earlier question)."""
        if payload == HANDOFF_PAYLOAD:
            return self._replies.handoff(t, "explicit_request")
        pending = t.state.pending
        if payload.startswith(FAQ_PAYLOAD_PREFIX):
            entry = self._kb.get(payload[len(FAQ_PAYLOAD_PREFIX) :])
            if entry is None:
                return None
            offered = {c.faq_id: c for c in pending.candidates} if pending else {}
            chosen = offered.get(entry.id)
            t.notes.append("chosen_by_user")
            t.state = replace(t.state, pending=None)
            question = pending.query if pending and chosen else entry.question
            return self._replies.answer(t, entry, chosen.score if chosen else 1.0, None, question)
        if pending is not None and pending.kind == "slot":
            flow = self._flows.get(pending.flow)
            option = flow.option(payload) if flow else None
            if flow is not None and option is not None:
                return self._replies.answer_option(t, flow, option, pending.query)
        # A button from an earlier, abandoned question still means what it said.
        matches = [(f, o) for f in self._flows.by_intent.values() for o in f.options if o.payload == payload]
        if len(matches) == 1:
            flow, option = matches[0]
            return self._replies.answer_option(t, flow, option, t.text or option.title.get(t.locale))
        return None

    def choice(self, t: TurnContext) -> Callable[[], Outcome] | None:
        """The reply as an answer to the pending question: the option or candidate it picks, ready to answer."""
        pending = t.state.pending
        if pending is None:
            return None
        if pending.kind == "slot":
            flow = self._flows.get(pending.flow)
            if flow is None:
                return None  # the flow was removed from the config since the question was asked
            option = match_option(t.text, flow)
            if option is None or self._starts_other_task(t, pending):
                return None
            return lambda: self._replies.answer_option(t, flow, option, pending.query)
        candidate = match_candidate(t.text, pending.candidates)
        entry = self._kb.get(candidate.faq_id) if candidate else None
        if candidate is None or entry is None:
            return None

        def answer() -> Outcome:
            t.state = replace(t.state, pending=None)
            return self._replies.answer(t, entry, candidate.score, None, pending.query)

        return answer

    def on_reply(self, t: TurnContext) -> Outcome | None:
        """A reply that picked nothing: narrowed down, asked again once, or None when the user moved on."""
        pending = t.state.pending
        assert pending is not None
        flow = self._flows.get(pending.flow)
        if pending.kind == "slot" and flow is None:
            return None
        intent = t.intent
        if intent is not None and intent.intent in SMALLTALK_INTENTS:
            return None
        # The reply read with the question asked: as a follow-up of it, and joined to it (one batched search).
        readings = self._read_with_question(t, pending) if pending.kind == "disambiguation" else None
        if readings is not None and (picked := self._picked_by_meaning(t, pending, readings)) is not None:
            return picked
        # "怎么用" or "价格" after "优惠券/会员 → 您是想问：…" narrows the vague question down rather than picking a
        # listed entry: a short reply is read with the question first, a longer one may be a new question.
        short = follow_up_kind(t.text) is not None
        if readings is not None and short and (refined := self._refine(t, readings[1])) is not None:
            return refined
        if self._is_new_question(t, pending):
            t.notes.append("clarification_abandoned")
            return None
        if readings is not None and not short and (refined := self._refine(t, readings[1])) is not None:
            return refined
        if pending.attempts >= 1:
            t.notes.append("clarification_dropped")
            return None
        again = replace(pending, attempts=pending.attempts + 1)
        if flow is not None and pending.kind == "slot":
            return self._replies.ask_flow(t, flow, again, again=True)
        return self._replies.ask_candidates(t, again, again=True)

    def _read_with_question(self, t: TurnContext, pending: PendingClarification) -> list[SearchResult]:
        """The reply searched as a follow-up of the pending question and joined to it, in that order."""
        joined = f"{pending.query} {t.text}"
        readings = self._kb.search_batch([t.text, joined], top_k=self._top_k, contexts=[pending.query, None])
        for found, context in zip(readings, (pending.query, None), strict=True):
            t.queries.append(trace_query(found, context, False))  # marked chosen once a step acts on it
        return readings

    def _picked_by_meaning(
        self, t: TurnContext, pending: PendingClarification, readings: list[SearchResult]
    ) -> Outcome | None:
        # "不想要了能退吗" to "录播课的有效期 / 录播课退款？" names no option, yet read with the question asked it
        # means one of them: the reply picked that candidate by what it asks, not by its words. The question itself
        # backs the offered entries, so below the answerable bar the calibrated share of it (see `corroboration`)
        # is evidence enough ("for my membership…" after "refund?" over a Chinese FAQ).
        offered = {c.faq_id: c for c in pending.candidates}
        picks = [
            (found.top, found, context)
            for found, context in zip(readings, (pending.query, None), strict=True)
            if found.top is not None
            and found.top.id in offered
            and found.top.score >= found.threshold * self._backed_share
        ]
        if not picks:
            return None
        top, found, context = max(picks, key=lambda p: p[0].score)
        # "expired" after "coupon → not usable / how to use?" narrows the topic to an entry the question did not
        # list: a reading sure of it, and surer than of any offered one, answers that entry instead.
        beyond = [
            (f.top, f, c)
            for f, c in zip(readings, (pending.query, None), strict=True)
            if f.answerable and f.top is not None and f.top.id not in offered and f.top.score > top.score
        ]
        if beyond:
            top, found, context = max(beyond, key=lambda p: p[0].score)
        # A new question that the question asked merely pulls towards a candidate ("会员权益有哪些" after "退款？
        # 课程/会员") is surer of its own entry read alone.
        own = self._search(t).result
        if (
            own.answerable
            and own.top is not None
            and own.top.id not in offered
            and own.top.id != top.id
            and own.top.score > top.score
        ):
            return None
        entry = self._kb.get(top.id)
        if entry is None:
            return None
        _mark_chosen(t, found, context)
        t.notes.append("chosen_by_meaning" if top.id in offered else "narrowed_beyond_options")
        t.state = replace(t.state, pending=None)
        return self._replies.answer(t, entry, top.score, found, f"{pending.query} {t.text}")

    def _refine(self, t: TurnContext, refined: SearchResult) -> Outcome | None:
        # The reply joined to the vague question it narrows down ("会员" + "价格"), answered, asked about or
        # dropped like any message.
        if not refined.answerable:
            return None
        _mark_chosen(t, refined, None)
        t.notes.append("clarification_refined")
        t.state = replace(t.state, pending=None)
        return self._reply_from(t, refined)

    def _starts_other_task(self, t: TurnContext, pending: PendingClarification) -> bool:
        # A reply naming an option may still be something else: "我想找一门适合自己的课程" mentions 课程 but starts
        # another task, and "会员权益有哪些" mentions 会员 but asks another question, one the FAQ answers outside
        # the flow. A statement ("我买的是年卡") or a question of the flow's own kind ("会员能退吗") answers it.
        intent = t.intent
        if intent is None or intent.is_oos or intent.intent == pending.flow:
            return False
        if self._flows.get(intent.intent) is not None and follow_up_kind(t.text) is None:
            return True
        if not is_question(t.text):
            return False
        flow = self._flows.get(pending.flow)
        targets = {o.faq_id for o in flow.options} if flow else set()
        result = self._search(t).result
        return result.answerable and result.top is not None and result.top.id not in targets

    def _is_new_question(self, t: TurnContext, pending: PendingClarification) -> bool:
        # The reply picked no option. A question of another kind ("积分怎么用" while asked "个人还是单位？") means
        # the user moved on. Otherwise only a self-contained question the FAQ answers does: a short reply with
        # no intent of its own ("不知道诶") is a failed answer, whatever words it happens to share with the FAQ.
        intent = t.intent
        if intent is not None and not intent.is_oos and intent.intent != pending.flow:
            return True
        if follow_up_kind(t.text) is not None:
            return False
        return self._search(t).result.answerable


def _mark_chosen(t: TurnContext, result: SearchResult, context: str | None) -> None:
    """Mark the turn's trace record of this search (its query with this context) as the one acted on."""
    t.queries = [replace(q, chosen=True) if (q.query, q.context) == (result.query, context) else q for q in t.queries]
