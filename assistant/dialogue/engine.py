"""The dialogue engine: one user turn and the conversation state in, one decision and the next state out."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from assistant.dialogue.clarification import close_candidates, match_candidate, match_option, mentioned_option
from assistant.dialogue.context import follow_up_kind
from assistant.dialogue.decision import FAQ_PAYLOAD_PREFIX, HANDOFF_PAYLOAD, UserTurn
from assistant.dialogue.escalation import (
    asks_about_service,
    is_angry_complaint,
    is_explicit_request,
    is_sustained_negative,
    is_uncertain_high_stakes,
)
from assistant.dialogue.flows import Flow, Flows
from assistant.dialogue.language import choose_locale
from assistant.dialogue.policy import Policy
from assistant.dialogue.ports import AnswerWriter, FaqRetriever
from assistant.dialogue.replies import GREETING, Replies
from assistant.dialogue.retrieval import Retrieval, retrieve
from assistant.dialogue.sentiment import score_sentiment
from assistant.dialogue.smalltalk import has_question
from assistant.dialogue.state import DialogueState, PendingClarification, TurnRecord
from assistant.dialogue.turn import Outcome, TurnContext, aware
from assistant.embedding import Embedder
from assistant.errors import InvalidInput
from assistant.intents.types import OOS, IntentClassifier, IntentPrediction
from knowledge_base.models import SearchResult

DEFAULT_DISAMBIGUATION_MARGIN = 0.1  # used when neither the caller nor policy.yaml gives a calibrated margin
CONTEXT_TTL = timedelta(minutes=30)  # a topic older than this is no longer what "那会员呢" refers to
RUNNER_UP_MIN = 0.3  # "你好，我想退款": the runner-up intent is the question only if it is plausible at all
THANKS_GOODBYE = "thanks_goodbye"
SMALLTALK_INTENTS = (GREETING, THANKS_GOODBYE)


def _question_reading(prediction: IntentPrediction) -> IntentPrediction:
    for label, score in prediction.ranking:
        if label not in SMALLTALK_INTENTS and label != OOS and score >= RUNNER_UP_MIN:
            return IntentPrediction(prediction.text, label, score, prediction.ranking)
    return IntentPrediction(prediction.text, OOS, 0.0, prediction.ranking)


class DialogueEngine:
    """Decides each user turn (answer, clarify, smalltalk, fallback, handoff), with its reasons in a trace."""

    def __init__(
        self,
        kb: FaqRetriever,
        intents: IntentClassifier,
        *,
        flows: Flows,
        policy: Policy,
        embedder: Embedder | None = None,
        answer_writer: AnswerWriter | None = None,
        use_context: bool = True,
        disambiguation_margin: float | None = None,
        top_k: int = 5,
    ) -> None:
        self._kb = kb
        self._intents = intents
        self._flows = flows
        self._policy = policy
        self._embedder = embedder
        self._replies = Replies(kb, policy, answer_writer)
        self._use_context = use_context
        self._top_k = top_k
        self._margin = next(
            m
            for m in (disambiguation_margin, policy.retrieval.disambiguation_margin, DEFAULT_DISAMBIGUATION_MARGIN)
            if m is not None
        )

    @property
    def policy(self) -> Policy:
        """The escalation policy in force (its business hours are shared with the handoff desk)."""
        return self._policy

    def decide(self, state: DialogueState, turn: UserTurn) -> Outcome:
        """Handle one user turn; `state` is not modified, the returned state replaces it."""
        text = (turn.text or "").strip()
        payload = (turn.quick_reply or "").strip()
        if not text and not payload:
            raise InvalidInput("a user turn needs text or a quick reply")
        locale = choose_locale(text or None, turn.locale, state.locale)
        sentiment = score_sentiment(text) if text else 0.0
        current = replace(state, tier=turn.tier, locale=locale, turn_count=state.turn_count + 1)
        if text:
            current = current.with_sentiment(sentiment)
        current = current.with_history(TurnRecord("user", text or payload))
        t = TurnContext(
            current, state.history, turn, text, locale, sentiment, self._policy.business_hours.is_open(turn.now)
        )
        decision, after = self._decide(t, payload)
        label = decision.intent.intent if decision.intent else None
        return decision, after.with_history(
            TurnRecord("assistant", decision.text, decision.action, decision.faq_id, label)
        )

    # -- the decision procedure ------------------------------------------------------------------

    def _decide(self, t: TurnContext, payload: str) -> Outcome:
        had_text = bool(t.text)
        if payload:
            outcome = self._on_quick_reply(t, payload)
            if outcome is not None:
                return outcome
            if not t.text:
                t.text = payload  # an unknown or stale button: read its payload as text
        intent = self._predict(t)
        if intent.intent in SMALLTALK_INTENTS and has_question(t.text):
            t.notes.append("smalltalk_with_question")
            t.intent = intent = _question_reading(intent)
        rules = self._policy.handoff
        if is_explicit_request(t.text, intent, rules):
            # "人工客服几点上班" asks about people without asking for one: the FAQ answers it when it can.
            if not (asks_about_service(t.text, rules.explicit_phrases) and self._retrieve(t).result.answerable):
                return self._replies.handoff(t, "explicit_request")
            t.notes.append("question_about_agents")
        if had_text and is_sustained_negative(t.state.sentiment, rules.negative_sentiment):
            return self._replies.handoff(t, "negative_sentiment")
        if is_angry_complaint(intent, t.sentiment, rules):
            return self._replies.handoff(t, "complaint")
        if t.state.pending is not None:
            outcome = self._on_pending(t)
            if outcome is not None:
                return outcome
            t.state = replace(t.state, pending=None)
        if intent.intent in SMALLTALK_INTENTS:
            return self._replies.smalltalk(t, intent.intent)
        result = self._retrieve(t).result
        evidence = result.top.score if result.top else 0.0
        if is_uncertain_high_stakes(intent, t.turn.tier, evidence, rules.high_stakes):
            return self._replies.handoff(t, "high_stakes_low_confidence")
        flow = None if intent.is_oos else self._flows.get(intent.intent)
        if flow is not None:
            return self._run_flow(t, flow, result)
        return self._from_result(t, result)

    def _predict(self, t: TurnContext) -> IntentPrediction:
        # One embedding per turn, shared by the intent classifier and the knowledge base.
        vectors = self._embedder.embed([t.text]) if self._embedder is not None else None
        t.vector = vectors[0] if vectors is not None else None
        t.intent = self._intents.predict([t.text], vectors)[0]
        return t.intent

    def _context(self, t: TurnContext) -> str | None:
        state = t.state
        if not self._use_context or not state.last_question:
            return None
        if state.last_answered_at:
            answered = aware(datetime.fromisoformat(state.last_answered_at))
            if aware(t.turn.now) - answered > CONTEXT_TTL:
                return None
        return state.last_question

    def _retrieve(self, t: TurnContext) -> Retrieval:
        if t.retrieval is None:
            t.retrieval = retrieve(
                self._kb,
                t.text,
                top_k=self._top_k,
                vector=t.vector,
                context=self._context(t),
                last_faq_id=t.state.last_faq_id,
                last_category=t.state.last_category,
            )
            t.queries.extend(t.retrieval.queries)
            if t.retrieval.note:
                t.notes.append(t.retrieval.note)
        return t.retrieval

    def _on_quick_reply(self, t: TurnContext, payload: str) -> Outcome | None:
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

    def _on_pending(self, t: TurnContext) -> Outcome | None:
        pending = t.state.pending
        assert pending is not None
        flow = self._flows.get(pending.flow)
        if pending.kind == "slot":
            if flow is None:
                return None  # the flow was removed from the config since the question was asked
            option = match_option(t.text, flow)
            if option is not None and not self._starts_other_flow(t, pending):
                return self._replies.answer_option(t, flow, option, pending.query)
        else:
            candidate = match_candidate(t.text, pending.candidates)
            entry = self._kb.get(candidate.faq_id) if candidate else None
            if candidate is not None and entry is not None:
                t.state = replace(t.state, pending=None)
                return self._replies.answer(t, entry, candidate.score, None, pending.query)
        intent = t.intent
        if intent is not None and intent.intent in SMALLTALK_INTENTS:
            return None
        if self._is_new_question(t, pending):
            t.notes.append("clarification_abandoned")
            return None
        if pending.attempts >= 1:
            t.notes.append("clarification_dropped")
            return None
        again = replace(pending, attempts=pending.attempts + 1)
        if flow is not None and pending.kind == "slot":
            return self._replies.ask_flow(t, flow, again, again=True)
        return self._replies.ask_candidates(t, again, again=True)

    def _starts_other_flow(self, t: TurnContext, pending: PendingClarification) -> bool:
        # "我想找一门适合自己的课程" mentions 课程 but starts another task rather than answering "课程还是会员".
        intent = t.intent
        return (
            intent is not None
            and intent.intent != pending.flow
            and self._flows.get(intent.intent) is not None
            and follow_up_kind(t.text) is None
        )

    def _is_new_question(self, t: TurnContext, pending: PendingClarification) -> bool:
        if follow_up_kind(t.text) is not None:
            return False  # short or elliptical: most likely an attempt to answer the question
        intent = t.intent
        if intent is not None and not intent.is_oos and intent.intent != pending.flow:
            return True
        return self._retrieve(t).result.answerable

    def _answered_outside(self, flow: Flow, result: SearchResult) -> bool:
        # "发票多久能开出来" is an invoice question the KB answers outright: asking "个人还是单位？" would be noise.
        # The flow only steps aside when that answer clearly beats every FAQ entry the flow itself leads to.
        top = result.top
        targets = {o.faq_id for o in flow.options if o.faq_id}
        if not result.answerable or top is None or top.id in targets:
            return False
        best_target = max((h.score for h in result.hits if h.id in targets), default=0.0)
        return top.score - best_target >= self._margin

    def _run_flow(self, t: TurnContext, flow: Flow, result: SearchResult) -> Outcome:
        option = mentioned_option(t.text, flow)
        if option is None and self._answered_outside(flow, result):
            t.notes.append(f"flow_skipped:{flow.intent}")
            return self._from_result(t, result)
        if option is None and flow.slot in t.state.slots:
            option = flow.option(t.state.slots[flow.slot])
            if option is not None:
                t.notes.append(f"slot_from_state:{flow.slot}")
        if option is not None:
            return self._replies.answer_option(t, flow, option, t.text)
        options = tuple(o.payload for o in flow.options)
        return self._replies.ask_flow(t, flow, PendingClarification("slot", t.text, flow.intent, flow.slot, options))

    def _from_result(self, t: TurnContext, result: SearchResult) -> Outcome:
        top = result.top
        if not result.answerable or top is None:
            return self._replies.fallback(t)
        candidates = close_candidates(result, self._margin)
        if len(candidates) >= 2:
            return self._replies.ask_candidates(
                t, PendingClarification("disambiguation", t.text, candidates=candidates)
            )
        entry = self._kb.get(top.id)
        if entry is None:
            t.notes.append(f"faq_missing:{top.id}")
            return self._replies.fallback(t)
        return self._replies.answer(t, entry, top.score, result, t.text)
