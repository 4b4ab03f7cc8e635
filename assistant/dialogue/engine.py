"""The dialogue engine: one user turn and the conversation state in, one decision and the next state out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from assistant.dialogue.clarification import (
    MAX_CANDIDATES,
    close_candidates,
    mentioned_option,
)
from assistant.dialogue.context import follow_up_kind, is_question
from assistant.dialogue.corroboration import EntryIntents, backed_hit, evidence_share
from assistant.dialogue.decision import UserTurn
from assistant.dialogue.escalation import (
    asks_about_service,
    asks_for_person,
    is_angry_complaint,
    is_explicit_request,
    is_sustained_negative,
    is_uncertain_high_stakes,
    is_upset_about_money,
)
from assistant.dialogue.flow_choice import FlowChoice
from assistant.dialogue.flows import Flow, Flows
from assistant.dialogue.language import choose_locale
from assistant.dialogue.pending import PendingQuestion
from assistant.dialogue.persistence import PROBLEM_PERSISTS, reports_persisting_problem
from assistant.dialogue.policy import Policy
from assistant.dialogue.ports import AnswerWriter, FaqRetriever
from assistant.dialogue.replies import Replies
from assistant.dialogue.retrieval import TOPIC_NOTES, Retrieval, retrieve
from assistant.dialogue.sentiment import score_sentiment
from assistant.dialogue.smalltalk import SMALLTALK_INTENTS, has_question
from assistant.dialogue.state import Candidate, DialogueState, PendingClarification, TurnRecord
from assistant.dialogue.turn import Outcome, TurnContext, aware
from assistant.dialogue.vague import bare_topic, entries_naming, flow_covering, is_shared_topic
from assistant.embedding import Embedder
from assistant.errors import InvalidInput
from assistant.intents.types import OOS, IntentClassifier, IntentPrediction
from assistant.text import has_cjk
from knowledge_base.models import FaqEntry, Hit, SearchResult

DEFAULT_DISAMBIGUATION_MARGIN = 0.1  # used when neither the caller nor policy.yaml gives a calibrated margin
CONTEXT_TTL = timedelta(minutes=30)  # a topic older than this is no longer what "那会员呢" refers to
# Without a calibrated `corroborated_evidence` in policy.yaml, a hit below the answerable bar is never answered.
DEFAULT_CORROBORATED_EVIDENCE = 1.0
# At most this many weak hits offered as buttons when the assistant cannot answer (beside "talk to a person").
MAX_RELATED = 2
RUNNER_UP_MIN = 0.3  # "你好，我想退款": the runner-up intent is the question only if it is plausible at all


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
        backed = policy.retrieval.corroborated_evidence
        self._corroborated_evidence = DEFAULT_CORROBORATED_EVIDENCE if backed is None else backed
        self._entry_intents = EntryIntents(kb, intents, embedder)
        self._flow_choice = FlowChoice(kb, flows, self._margin)
        self._pending = PendingQuestion(
            kb,
            flows,
            self._replies,
            top_k=top_k,
            search=self._retrieve,
            reply_from=self._from_refined,
            backed_share=self._corroborated_evidence,
        )

    @property
    def policy(self) -> Policy:
        """The escalation policy in force (its business hours are shared with the handoff desk)."""
        return self._policy

    def warm_up(self, faq_ids: Sequence[str]) -> None:
        """Work out now what the engine would otherwise learn about each entry during a user's turn (its intent)."""
        # One model call for every question (a caching embedder keeps the vectors, so each entry's own reading
        # finds its vector there) instead of one call inside each of ~100 users' turns, on every worker.
        questions = [entry.question for faq_id in faq_ids if (entry := self._kb.get(faq_id)) is not None]
        if self._embedder is not None and questions:
            self._embedder.embed(questions)
        for faq_id in faq_ids:
            self._entry_intents.of(faq_id)

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
            outcome = self._pending.on_quick_reply(t, payload)
            if outcome is not None:
                return outcome
            if not t.text:
                t.text = payload  # an unknown or stale button: read its payload as text
        intent = self._predict(t)
        if intent.intent in SMALLTALK_INTENTS and has_question(t.text):
            t.notes.append("smalltalk_with_question")
            t.intent = intent = _question_reading(intent)
        rules = self._policy.handoff
        # A reply that picks an option of the pending question ("个人" to "个人还是单位？") answers it, whatever
        # the classifier makes of the word alone; only the policy's explicit phrases still mean "a person".
        choice = self._pending.choice(t)
        if is_explicit_request(t.text, None if choice else intent, rules):
            # "人工客服几点上班" asks about people without asking for one: the FAQ answers it when it can.
            if asks_about_service(t.text, rules.explicit_phrases) and self._retrieve(t).result.answerable:
                t.notes.append("question_about_agents")
            elif not asks_for_person(t.text, rules.explicit_phrases) and self._answers_better(t, intent):
                # Only the classifier read a request ("有没有人督促我学习"), and the FAQ answer is the likelier reading.
                t.notes.append("request_reading_outweighed")
            else:
                return self._replies.handoff(t, "explicit_request")
        if had_text and is_sustained_negative(t.state.sentiment, rules.negative_sentiment):
            return self._replies.handoff(t, "negative_sentiment")
        asks = bool(t.text) and is_question(t.text)
        if is_angry_complaint(intent, t.sentiment, rules, asks=asks) and not self._still_unsolved(t):
            return self._replies.handoff(t, "complaint")
        if had_text and is_upset_about_money(
            intent, t.turn.tier, t.sentiment, rules.high_stakes, rules.negative_sentiment
        ):
            # "扣了我两次钱还不给退！" from a paying member: money and anger together are a person's job at once.
            return self._replies.handoff(t, "negative_sentiment")
        if t.state.pending is not None:
            outcome = choice() if choice else self._pending.on_reply(t)
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
        if flow is not None and self._resolved_by_topic(t):
            # "怎么申请" after the student discount asks about that topic, whatever task the words alone suggest;
            # "能退吗" after the membership benefits is the membership refund, with no question to ask.
            t.notes.append(f"flow_skipped:{flow.intent}")
            flow = None
        elif flow is None:
            flow = self._flow_choice.leading_to(t, result)
        if flow is not None:
            return self._run_flow(t, flow, result)
        return self._from_result(t, result)

    def _predict(self, t: TurnContext) -> IntentPrediction:
        # One model call per turn, shared by the intent classifier and the knowledge base: the message goes with
        # what a search of it embeds besides (its English gloss), so the search finds that in the embedding cache
        # rather than making a second call (and concurrent turns batch twice the texts per call).
        # The search's gloss vector serves the classifier too (a model trained on Chinese reads the gloss).
        t.vector = gloss = None
        if self._embedder is not None:
            prepared = self._kb.query_vectors([t.text])[0]
            t.vector, gloss = prepared.text, prepared.gloss
            if t.vector is None:
                t.vector = self._embedder.embed([t.text])[0]
        vectors = None if t.vector is None else t.vector[None, :]
        glosses = None if gloss is None or vectors is None else gloss[None, :]
        t.intent = self._intents.predict([t.text], vectors, glosses)[0]
        return t.intent

    def _answers_better(self, t: TurnContext, intent: IntentPrediction) -> bool:
        # Both are calibrated probabilities: the intent's that the user asks for a person, the top hit's that it
        # answers the message. A phrase from the policy never gets here: it always means a person.
        result = self._retrieve(t).result
        return result.answerable and result.top is not None and result.top.score > intent.confidence

    def _still_unsolved(self, t: TurnContext) -> bool:
        # "已经过了一个小时了还没好" after the membership-activation answer reads as a complaint, but unless said in
        # anger it reports that the problem persists: the answer's next steps come before a person (who is one
        # tap away, and whom sustained negative feeling or repeated fallbacks still bring in).
        if t.sentiment <= self._policy.handoff.negative_sentiment.threshold:
            return False
        return self._retrieve(t).note == PROBLEM_PERSISTS

    def _resolved_by_topic(self, t: TurnContext) -> bool:
        # The conversation's topic settled what the message asks: kept or repeated by a generic follow-up, or a
        # follow-up reading sure of its entry where the message alone was not.
        found = self._retrieve(t)
        return found.note in TOPIC_NOTES or (found.follow_up and found.result.answerable)

    def _context(self, t: TurnContext) -> str | None:
        state = t.state
        if not self._use_context or not state.last_question:
            return None
        if state.last_answered_at:
            answered = aware(datetime.fromisoformat(state.last_answered_at))
            if aware(t.turn.now) - answered > CONTEXT_TTL:
                return None
        return state.last_question

    def _topic_text(self, t: TurnContext) -> str | None:
        # The topic still in play: the user's last message and the question of the entry answering it.
        context = self._context(t)
        if context is None:
            return None
        last_user = next((r.text for r in reversed(t.prior) if r.role == "user"), "")
        return f"{last_user} {context}"

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
                named_evidence=self._corroborated_evidence,
                persists=reports_persisting_problem(t.text),
            )
            t.queries.extend(t.retrieval.queries)
            if t.retrieval.note:
                t.notes.append(t.retrieval.note)
        return t.retrieval

    def _run_flow(self, t: TurnContext, flow: Flow, result: SearchResult) -> Outcome:
        option = mentioned_option(t.text, flow)
        if self._flow_choice.steps_aside(t, flow, option, result):
            t.notes.append(f"flow_skipped:{flow.intent}")
            return self._from_result(t, result)
        if option is None and flow.slot in t.state.slots:
            option = flow.option(t.state.slots[flow.slot])
            if option is not None:
                t.notes.append(f"slot_from_state:{flow.slot}")
        if option is None and follow_up_kind(t.text) == "anaphoric" and (topic := self._topic_text(t)) is not None:
            # "那发票能开吗" right after "苹果手机上买的课怎么退": the conversation already said it was an Apple
            # purchase, so asking "个人、单位还是苹果App内购买？" would make the user repeat themself. Only a message
            # that points back ("那…", "…呢") carries it over: "我要退款" after cancelling the membership's
            # auto-renewal may still mean a course.
            option = mentioned_option(topic, flow)
            if option is not None:
                t.notes.append(f"slot_from_topic:{flow.slot}")
        if option is not None:
            return self._replies.answer_option(t, flow, option, t.text)
        options = tuple(o.payload for o in flow.options)
        return self._replies.ask_flow(t, flow, PendingClarification("slot", t.text, flow.intent, flow.slot, options))

    def _ask_about_topic(self, t: TurnContext, result: SearchResult) -> Outcome | None:
        # "退款" or "证书" alone names a topic several entries share: the top one would be a guess, so ask which
        # (with the flow whose question tells those entries apart, when there is one). A follow-up read with the
        # conversation's topic is not bare: "会员" after a course refund means the membership refund.
        word = bare_topic(t.text)
        if word is None or (t.retrieval is not None and t.retrieval.follow_up):
            return None
        if result.top is not None and t.state.last_category and result.top.category == t.state.last_category:
            return None  # "过期了呢" after the course validity: the topic says which expiry
        naming = entries_naming(result, word)
        # An English speaker's "refund" names the one English refund article, not every entry mentioning it.
        own = [h for h in naming if (entry := self._kb.get(h.id)) is not None and entry.locale == t.locale]
        naming = own or naming
        if not naming and not has_cjk(word) and result.top is not None:
            # "refund" over a Chinese FAQ: no question contains the English word, so the entries it names are the
            # top hit's kind among those close enough to offer (the answerable bar's calibrated share).
            naming = [h for h in self._offerable(result) if h.category == result.top.category]
        if not is_shared_topic(naming):
            return None
        t.notes.append(f"bare_topic:{word}")
        flow = flow_covering(naming, self._flows)
        if flow is not None:
            options = tuple(o.payload for o in flow.options)
            pending = PendingClarification("slot", t.text, flow.intent, flow.slot, options)
            return self._replies.ask_flow(t, flow, pending)
        candidates = tuple(Candidate.of(h) for h in naming[:MAX_CANDIDATES])
        return self._replies.ask_candidates(t, PendingClarification("disambiguation", t.text, candidates=candidates))

    def _from_result(self, t: TurnContext, result: SearchResult, *, bare_checked: bool = False) -> Outcome:
        top = result.top
        vague = None if bare_checked else self._ask_about_topic(t, result)
        if vague is not None:
            return vague
        backed = None if result.answerable else self._backed(t, result)
        if top is None or not (result.answerable or backed):
            return self._replies.fallback(t, self._related(result))
        # Among weak hits every runner-up is close: the backing, not the ranking, singles out the one answered.
        top = backed or top
        candidates = close_candidates(result, self._margin) if result.answerable else ()
        if len(candidates) >= 2:
            return self._replies.ask_candidates(
                t, PendingClarification("disambiguation", t.text, candidates=candidates)
            )
        entry = self._kb.get(top.id)
        if entry is None:
            t.notes.append(f"faq_missing:{top.id}")
            return self._replies.fallback(t)
        return self._replies.answer(t, self._topic_in_own_language(t, entry), top.score, result, t.text)

    def _offerable(self, result: SearchResult) -> list[Hit]:
        # Hits from the calibrated share of the answerable bar up (the weak evidence corroboration accepts): close
        # enough to offer, if not always sure enough to answer; uncalibrated (share 1.0), only answerable ones.
        floor = self._corroborated_evidence * result.threshold
        return [h for h in result.hits if h.score >= floor and self._kb.get(h.id) is not None]

    def _related(self, result: SearchResult) -> tuple[Candidate, ...]:
        # The weak hits of a result the assistant cannot answer from, offered beside "talk to a person".
        return tuple(Candidate.of(h) for h in self._offerable(result)[:MAX_RELATED])

    def _backed(self, t: TurnContext, result: SearchResult) -> Hit | None:
        # Below the answerable bar, the best hit the message's intent or the conversation's topic independently
        # points at still answers from the calibrated share of the bar up (see `corroboration`).
        if self._corroborated_evidence >= 1.0:
            return None
        topic = t.state.last_category if self._context(t) is not None else None
        found = backed_hit(result, t.intent, self._entry_intents.of, topic)
        if found is None or evidence_share(found[0], result) < self._corroborated_evidence:
            return None
        t.notes.append(f"corroborated_by:{found[1]}")
        return found[0]

    def _from_refined(self, t: TurnContext, result: SearchResult) -> Outcome:
        # The reply narrowed a vague question down ("会员" + "价格"): on its own the reply may look bare, together
        # they are not.
        return self._from_result(t, result, bare_checked=True)

    def _topic_in_own_language(self, t: TurnContext, entry: FaqEntry) -> FaqEntry:
        # "what about on iPhone?" after the English auto-renewal article: the English speaker stays on that
        # article rather than being sent to the Chinese iOS entry of the same topic.
        last = self._kb.get(t.state.last_faq_id) if t.state.last_faq_id else None
        follow_up = t.retrieval is not None and t.retrieval.follow_up
        if not follow_up or entry.locale == t.locale or last is None:
            return entry
        if last.locale != t.locale or last.category != entry.category:
            return entry
        t.notes.append("topic_in_user_language")
        return last
