"""Whether a flow asks its question (the intent's, or the one whose entry the KB found) or the KB answers instead."""

from __future__ import annotations

from assistant.dialogue.clarification import mentioned_option
from assistant.dialogue.context import is_generic
from assistant.dialogue.flows import Flow, FlowOption, Flows
from assistant.dialogue.ports import FaqRetriever
from assistant.dialogue.slots import probe_slot
from assistant.dialogue.turn import TurnContext
from knowledge_base.models import SearchResult


class FlowChoice:
    """Chooses between a flow's question (or named option) and the knowledge base's own answer."""

    def __init__(self, kb: FaqRetriever, flows: Flows, margin: float) -> None:
        self._kb = kb
        self._flows = flows
        self._margin = margin

    def steps_aside(self, t: TurnContext, flow: Flow, option: FlowOption | None, result: SearchResult) -> bool:
        """True when the KB's answer serves better than the flow's question (or the option the message names)."""
        return (
            self._in_own_language(t, flow, option, result)
            or (option is None and self._answered_outside(t, flow, result))
            or (option is not None and self._option_outranked(flow, option, result))
        )

    def leading_to(self, t: TurnContext, result: SearchResult) -> Flow | None:
        """The flow whose own entry the KB found for a message naming none of its options, if any."""
        # "退款怎么弄" finds one of the refund flow's own entries (the bootcamp refund) without naming a product:
        # which entry is meant depends on the flow's slot, so the flow asks, whatever intent the words suggest.
        # A follow-up the conversation's topic resolved ("能退吗" after membership benefits) needs no question.
        top = result.top
        if not result.answerable or top is None or (t.retrieval is not None and t.retrieval.follow_up):
            return None
        for flow in self._flows.by_intent.values():
            if any(o.faq_id == top.id for o in flow.options) and mentioned_option(t.text, flow) is None:
                t.notes.append(f"flow_from_answer:{flow.intent}")
                return flow
        return None

    def _answered_outside(self, t: TurnContext, flow: Flow, result: SearchResult) -> bool:
        # "发票多久能开出来" is an invoice question the KB answers outright: asking "个人还是单位？" would be noise.
        # The flow steps aside when the KB's answer is none of the flow's own entries and the slot would not
        # change it (see `probe_slot`).
        top = result.top
        targets = {o.faq_id for o in flow.options if o.faq_id}
        if not result.answerable or top is None or top.id in targets:
            return False
        if t.intent is not None and top.score > t.intent.confidence:
            # Both are calibrated probabilities: "我是研究生 有学生优惠吗" is surer the student-discount entry
            # (0.98) than the course-recommendation intent (0.44) that would ask for the user's level.
            t.notes.append("answer_outweighs_intent")
            return True
        # A message naming one thing at most ("申请退款") is what the flow's question is for: any option that
        # moves it counts. One naming more ("账号被封了") must stay about as sure with the option added.
        floor = 0.0 if is_generic(t.text) else top.score - self._margin
        probe = probe_slot(self._kb, t.text, flow, t.locale, floor=floor)
        t.notes.append(f"slot_probe:{probe.moved}/{probe.probed}")
        return not probe.matters

    def _option_outranked(self, flow: Flow, option: FlowOption, result: SearchResult) -> bool:
        # "忘了取消自动续费被扣了会员费，能退吗" names the membership, but asks about an auto-renewal charge: an
        # entry outside the flow that beats the option's own entry by the disambiguation margin is what is asked.
        # Against the flow's other entries the named option wins: its synonyms are curated, the ranking is not.
        top = result.top
        targets = {o.faq_id for o in flow.options}
        if option.faq_id is None or not result.answerable or top is None or top.id in targets:
            return False
        own = max((h.score for h in result.hits if h.id == option.faq_id), default=0.0)
        return top.score - own >= self._margin

    def _in_own_language(self, t: TurnContext, flow: Flow, option: FlowOption | None, result: SearchResult) -> bool:
        # An English speaker is better served by the English entry the KB found than by the flow's Chinese ones.
        top = result.top
        entry = self._kb.get(top.id) if result.answerable and top is not None else None
        if entry is None or entry.locale != t.locale:
            return False
        leads = [option] if option is not None else list(flow.options)
        targets = [self._kb.get(o.faq_id) if o.faq_id else None for o in leads]
        return all(e is not None and e.locale != t.locale for e in targets)
