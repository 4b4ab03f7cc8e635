"""Building each kind of reply (answer, clarify, smalltalk, fallback, handoff) and the state that follows it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from assistant.dialogue.answering import answer_body
from assistant.dialogue.decision import (
    FAQ_PAYLOAD_PREFIX,
    HANDOFF_PAYLOAD,
    Action,
    Decision,
    HandoffReason,
    QuickReply,
    Source,
    Trace,
)
from assistant.dialogue.escalation import COMPLAINT
from assistant.dialogue.flows import Flow, FlowOption
from assistant.dialogue.framing import frame_answer
from assistant.dialogue.messages import message
from assistant.dialogue.persistence import PROBLEM_PERSISTS
from assistant.dialogue.policy import Policy
from assistant.dialogue.ports import AnswerRequest, AnswerWriter, FaqRetriever
from assistant.dialogue.smalltalk import GREETING, is_goodbye
from assistant.dialogue.state import Candidate, DialogueState, PendingClarification
from assistant.dialogue.turn import Outcome, TurnContext, aware
from knowledge_base.models import FaqEntry, SearchResult

EMPATHY_SENTIMENT = -0.3  # answers to messages this upset open with the policy's apology
WRITER_ENTRIES = 3  # retrieved entries a writer may draw on
WRITER_HISTORY = 6  # recent history records a writer sees


class Replies:
    """Turns a decided action into the user-visible `Decision` (with trace) and the next state."""

    def __init__(self, kb: FaqRetriever, policy: Policy, writer: AnswerWriter | None) -> None:
        self._kb = kb
        self._policy = policy
        self._writer = writer

    def decision(self, t: TurnContext, action: Action, text: str, **fields: Any) -> Decision:
        """A decision of `action` carrying the turn's intent, agent availability and trace."""
        intent = t.intent
        trace = Trace(
            queries=tuple(t.queries),
            intent=intent.intent if intent else None,
            intent_confidence=round(intent.confidence, 4) if intent else None,
            sentiment=round(t.sentiment, 4),
            follow_up=bool(t.retrieval and t.retrieval.follow_up),
            writer=t.writer,
            notes=tuple(t.notes),
        )
        return Decision(
            action=action,
            text=text,
            locale=t.locale,
            intent=intent,
            agents_available=t.agents_available,
            trace=trace,
            **fields,
        )

    def _answered(self, t: TurnContext, faq_id: str | None, category: str | None, question: str) -> DialogueState:
        return replace(
            t.state,
            pending=None,
            consecutive_fallbacks=0,
            last_faq_id=faq_id,
            last_category=category,
            last_question=question,
            last_answered_at=aware(t.turn.now).isoformat(),
        )

    def _empathetic(self, t: TurnContext) -> bool:
        return (
            (t.intent is not None and t.intent.intent == COMPLAINT)
            or t.sentiment <= EMPATHY_SENTIMENT
            or PROBLEM_PERSISTS in t.notes
        )

    def answer(
        self, t: TurnContext, entry: FaqEntry, score: float, result: SearchResult | None, question: str
    ) -> Outcome:
        """Answer with an FAQ entry (curated, or the writer's grounded draft) and remember it as the topic."""
        scores = {h.id: h.score for h in result.hits} if result else {}
        scores[entry.id] = score
        entries = [entry]
        if self._writer is not None and result is not None:
            others = (self._kb.get(h.id) for h in result.hits[:WRITER_ENTRIES] if h.id != entry.id)
            entries.extend(e for e in others if e is not None)
        request = AnswerRequest(
            question=question,
            entries=tuple(entries),
            history=tuple((r.role, r.text) for r in t.prior[-WRITER_HISTORY:]),
            locale=t.locale,
        )
        body = answer_body(self._writer, request, entry)
        t.writer = body.writer
        if body.note:
            t.notes.append(body.note)
        text = frame_answer(
            body.text,
            locale=t.locale,
            tier=t.turn.tier,
            style=self._policy.answers,
            empathetic=self._empathetic(t),
            body_locale=entry.locale if body.writer == "curated" else t.locale,
        )
        sources = tuple(Source(i, round(scores.get(i, score), 4)) for i in body.cited)
        # A written answer may rest on another retrieved entry than the top one; that entry is the topic then.
        by_id = {e.id: e for e in entries}
        main = entry if entry.id in body.cited else by_id.get(body.cited[0], entry)
        state = self._answered(t, main.id, main.category, main.question)
        # The answer already failed once: the same steps again, and a person one tap away.
        buttons = (_person_button(t.locale),) if PROBLEM_PERSISTS in t.notes else ()
        decision = self.decision(t, "answer", text, sources=sources, faq_id=main.id, quick_replies=buttons)
        return decision, state

    def answer_option(self, t: TurnContext, flow: Flow, option: FlowOption, query: str) -> Outcome:
        """Fill the flow's slot with `option` and answer with its FAQ entry or its direct answer."""
        t.state = replace(t.state, slots={**t.state.slots, flow.slot: option.payload}, pending=None)
        t.notes.append(f"slot:{flow.slot}={option.payload}")
        if option.faq_id is not None:
            entry = self._kb.get(option.faq_id)
            if entry is None:
                t.notes.append(f"faq_missing:{option.faq_id}")
                return self.fallback(t)
            return self.answer(t, entry, 1.0, None, f"{query} {option.title.get(t.locale)}")
        assert option.answer is not None
        t.writer = "curated"
        text = frame_answer(
            option.answer.get(t.locale),
            locale=t.locale,
            tier=t.turn.tier,
            style=self._policy.answers,
            empathetic=self._empathetic(t),
        )
        topic = f"{query} {option.title.get(t.locale)}".strip()
        state = self._answered(t, None, flow.intent, topic)
        return self.decision(t, "answer", text), state

    def ask_flow(self, t: TurnContext, flow: Flow, pending: PendingClarification, *, again: bool = False) -> Outcome:
        """Ask the flow's slot question with its options as quick replies."""
        prefix = message("clarify_again", t.locale) if again else ""
        replies = tuple(QuickReply(o.title.get(t.locale), o.payload) for o in flow.options)
        decision = self.decision(t, "clarify", prefix + flow.question.get(t.locale), quick_replies=replies)
        return decision, replace(t.state, pending=pending)

    def ask_candidates(self, t: TurnContext, pending: PendingClarification, *, again: bool = False) -> Outcome:
        """Ask which of the close FAQ candidates the user means (numbered, and as quick replies)."""
        candidates: tuple[Candidate, ...] = pending.candidates
        prefix = message("clarify_again", t.locale) if again else ""
        # The numbered list keeps text-only channels (WeChat) usable; "2" or "第二个" picks an entry.
        listing = "\n".join(f"{i}. {c.question}" for i, c in enumerate(candidates, 1))
        text = f"{prefix}{message('disambiguation', t.locale)}\n{listing}"
        replies = tuple(_faq_button(c) for c in candidates)
        return self.decision(t, "clarify", text, quick_replies=replies), replace(t.state, pending=pending)

    def smalltalk(self, t: TurnContext, intent: str) -> Outcome:
        """Reply to a greeting, thanks or goodbye; thanks and goodbyes confirm the issue is resolved."""
        if intent == GREETING:
            greeting = message("greeting", t.locale)
            text = frame_answer(greeting, locale=t.locale, tier=t.turn.tier, style=self._policy.answers)
            return self.decision(t, "smalltalk", text), t.state
        text = message("goodbye" if is_goodbye(t.text) else "thanks", t.locale)
        return self.decision(t, "smalltalk", text, resolved_confirmation=True), t.state

    def fallback(self, t: TurnContext, related: Sequence[Candidate] = ()) -> Outcome:
        """Say honestly that there is no answer and offer a person; the third failure in a row hands off.

        `related` entries (weak hits) are offered as buttons: still no answer, but one tap away when one fits."""
        rules = self._policy.handoff
        if t.state.consecutive_fallbacks >= rules.max_consecutive_fallbacks:
            return self.handoff(t, "repeated_failure")
        if t.text and t.sentiment <= rules.negative_sentiment.threshold:
            # An upset user the assistant cannot answer ("还是卡，气死我了") needs a person, not "please rephrase".
            return self.handoff(t, "negative_sentiment")
        if t.agents_available:
            text = message("fallback", t.locale)
        else:
            text = message("fallback_offline", t.locale, hours=self._policy.business_hours.describe(t.locale))
        if related:
            text = f"{text}\n{message('related', t.locale)}"
        replies = (
            *(_faq_button(c) for c in related),
            _person_button(t.locale),
        )
        state = replace(t.state, pending=None, consecutive_fallbacks=t.state.consecutive_fallbacks + 1)
        return self.decision(t, "fallback", text, quick_replies=replies), state

    def handoff(self, t: TurnContext, reason: HandoffReason) -> Outcome:
        """Escalate to a person for `reason`, telling the user when agents are offline."""
        text = message(f"handoff.{reason}", t.locale)
        if not t.agents_available:
            separator = " " if t.locale == "en" else ""
            hours = self._policy.business_hours.describe(t.locale)
            text = f"{text}{separator}{message('handoff.offline', t.locale, hours=hours)}"
        state = replace(t.state, pending=None, consecutive_fallbacks=0, handed_off=True, handoff_reason=reason)
        return self.decision(t, "handoff", text, handoff_reason=reason), state


def _person_button(locale: str) -> QuickReply:
    """The "talk to a person" quick reply."""
    return QuickReply(message("talk_to_person", locale), HANDOFF_PAYLOAD)


def _faq_button(candidate: Candidate) -> QuickReply:
    """A button that answers the candidate's FAQ entry when tapped."""
    return QuickReply(candidate.question, f"{FAQ_PAYLOAD_PREFIX}{candidate.faq_id}")
