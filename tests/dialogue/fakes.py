"""Scripted fakes for dialogue tests: a knowledge base, an intent classifier, and a chat helper."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from assistant.dialogue import DialogueEngine, DialogueState, UserTurn
from assistant.dialogue.decision import Decision
from assistant.intents.types import OOS, IntentPrediction
from knowledge_base.features import QueryVectors
from knowledge_base.models import FaqEntry, Hit, SearchResult

# Monday 2025-01-06 10:00 in Shanghai: inside the default business hours.
OPEN_NOW = datetime(2025, 1, 6, 2, 0, tzinfo=UTC)
# Monday 23:30 in Shanghai: outside them.
CLOSED_NOW = datetime(2025, 1, 6, 15, 30, tzinfo=UTC)

ENTRIES = (
    FaqEntry(
        "refund-course",
        "课程怎么退款",
        "购买课程后7天内且学习进度不超过20%，可在“我的订单”申请全额退款，款项3-5个工作日原路退回。",
        "refund",
    ),
    FaqEntry(
        "refund-membership",
        "会员怎么退款",
        "会员开通后48小时内且未使用会员权益，可申请退款；超过48小时不支持退款。",
        "refund",
    ),
    FaqEntry("membership-benefits", "会员有哪些权益", "会员可免费学习全部专栏课程，直播课享8折优惠。", "membership"),
    FaqEntry("refund-arrival", "退款多久到账", "退款审核通过后，款项将在3-5个工作日内原路退回。", "refund"),
    FaqEntry("invoice", "怎么开发票", "在“我的订单”中选择订单，点击“申请发票”即可开具电子发票。", "invoice"),
    FaqEntry("live-replay", "直播课怎么看回放", "直播结束后2小时内生成回放，可在课程页的“回放”标签观看。", "course"),
    FaqEntry("video-download", "课程视频能下载吗", "课程视频可在App内缓存离线观看，不支持导出到其他设备。", "course"),
    FaqEntry(
        "app-download",
        "How do I get the mobile app?",
        "Search for Zhixing Academy in the App Store or on Google Play.",
        "app",
        locale="en",
    ),
)


@dataclass
class SearchCall:
    """One recorded `search` call."""

    query: str
    context: str | None
    has_vector: bool


@dataclass
class FakeKB:
    """Scripted search: `script(query, hits, context=...)`; anything unscripted finds nothing."""

    entries: dict[str, FaqEntry] = field(default_factory=lambda: {e.id: e for e in ENTRIES})
    threshold: float = 0.5
    scripts: dict[tuple[str, str | None], tuple[tuple[str, float], ...]] = field(default_factory=dict)
    calls: list[SearchCall] = field(default_factory=list)
    batches: int = 0  # `search_batch` calls (each also records its queries in `calls`)
    glosses: dict[str, np.ndarray] = field(default_factory=dict)  # gloss vectors `query_vectors` hands out

    def script(self, query: str, hits: Sequence[tuple[str, float]], *, context: str | None = None) -> None:
        self.scripts[(query, context)] = tuple(hits)

    def search(
        self, query: str, *, top_k: int = 5, context: str | None = None, vector: np.ndarray | None = None
    ) -> SearchResult:
        self.calls.append(SearchCall(query, context, vector is not None))
        scripted = self.scripts.get((query, context), ())
        hits = tuple(
            Hit(faq_id, score, self.entries[faq_id].question, self.entries[faq_id].category)
            for faq_id, score in scripted[:top_k]
        )
        answerable = bool(hits) and hits[0].score >= self.threshold
        return SearchResult(query, hits, answerable, self.threshold)

    def search_batch(
        self,
        queries: Sequence[str],
        *,
        top_k: int = 5,
        contexts: Sequence[str | None] | None = None,
        vectors: np.ndarray | None = None,
    ) -> list[SearchResult]:
        self.batches += 1
        found = contexts if contexts is not None else [None] * len(queries)
        return [
            self.search(q, top_k=top_k, context=c, vector=None if vectors is None else vectors[i])
            for i, (q, c) in enumerate(zip(queries, found, strict=True))
        ]

    def get(self, faq_id: str) -> FaqEntry | None:
        return self.entries.get(faq_id)

    def query_vectors(self, texts: Sequence[str]) -> list[QueryVectors]:
        # embeds nothing: the engine embeds the message itself (and takes a scripted gloss vector)
        return [QueryVectors(gloss=self.glosses.get(t)) for t in texts]


@dataclass
class FakeIntents:
    """Scripted classifier: `script(text, intent, confidence, ranking)`; anything unscripted is `oos`."""

    scripts: dict[str, IntentPrediction] = field(default_factory=dict)
    calls: list[tuple[list[str], bool]] = field(default_factory=list)
    gloss_given: list[bool] = field(default_factory=list)  # per call: whether gloss vectors came with the texts

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(sorted({p.intent for p in self.scripts.values()}))

    def script(
        self, text: str, intent: str, confidence: float = 0.9, ranking: Sequence[tuple[str, float]] = ()
    ) -> None:
        self.scripts[text] = IntentPrediction(text, intent, confidence, tuple(ranking) or ((intent, confidence),))

    def predict(
        self, texts: Sequence[str], vectors: np.ndarray | None = None, gloss_vectors: np.ndarray | None = None
    ) -> list[IntentPrediction]:
        self.calls.append((list(texts), vectors is not None))
        self.gloss_given.append(gloss_vectors is not None)
        return [self.scripts.get(t, IntentPrediction(t, OOS, 0.1, ())) for t in texts]


class Chat:
    """A conversation against an engine: `say` sends one turn and keeps the state (JSON round-tripped)."""

    def __init__(self, engine: DialogueEngine, *, tier: str = "free", now: datetime = OPEN_NOW) -> None:
        self.engine = engine
        self.state = DialogueState()
        self.tier = tier
        self.now = now
        self.decisions: list[Decision] = []

    def say(
        self,
        text: str | None = None,
        *,
        quick_reply: str | None = None,
        locale: str | None = None,
        now: datetime | None = None,
        tier: str | None = None,
    ) -> Decision:
        turn = UserTurn(text, quick_reply, tier or self.tier, "web", locale, now or self.now)
        decision, state = self.engine.decide(self.state, turn)
        # The service stores the state as a JSON document between turns; do the same here.
        self.state = DialogueState.from_dict(state.to_dict())
        self.decisions.append(decision)
        return decision
