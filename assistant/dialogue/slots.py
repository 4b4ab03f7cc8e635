"""Whether a flow's question is worth asking: does the answer to this message depend on the flow's slot?"""

from __future__ import annotations

from dataclasses import dataclass

from assistant.dialogue.flows import Flow
from assistant.dialogue.ports import FaqRetriever

# The slot matters when more than this share of the options, added to the message, lead to their own entry.
SLOT_DEPENDENT_SHARE = 0.5


@dataclass(frozen=True)
class SlotProbe:
    """How many options, added to the message, moved the search to the option's own FAQ entry."""

    moved: int
    probed: int

    @property
    def matters(self) -> bool:
        """True when the answer depends on the slot for most of its values."""
        return self.probed > 0 and self.moved > self.probed * SLOT_DEPENDENT_SHARE


def probe_slot(kb: FaqRetriever, text: str, flow: Flow, locale: str, *, floor: float = 0.0) -> SlotProbe:
    """Search the message completed by each option ("自动续费怎么关 微信支付") and count the options it follows.

    "自动续费怎么关" plus "微信支付" lands on the WeChat entry, plus "支付宝" on the Alipay one: the answer depends
    on the slot, so the flow asks. "发票多久能开出来" plus "个人" or "公司" stays on the invoice-time entry: the
    slot changes nothing, so the knowledge base answers outright. An option only counts when the completed
    message is about as sure of the option's entry (at least `floor`) as the message alone was of its own answer:
    "账号被封了" plus "微信登录" drifts to the WeChat login entry, but less surely than "账号被封了" finds the
    locked-account entry; the option's words outweighed the question rather than completing it.
    """
    # An option with its own direct answer ("零基础" → a beginner's course list) changes the answer by design.
    direct = sum(1 for o in flow.options if not o.faq_id)
    options = [o for o in flow.options if o.faq_id]
    if not options:
        return SlotProbe(direct, direct)
    # One batched search for all the probes: one model call embeds them all instead of one call per probe.
    results = kb.search_batch([f"{text} {o.title.get(locale)}" for o in options], top_k=1)
    moved = sum(
        r.top is not None and r.top.id == o.faq_id and r.top.score >= floor
        for r, o in zip(results, options, strict=True)
    )
    return SlotProbe(moved + direct, len(options) + direct)
