"""Warming the engine up front: a user's turn no longer pays for what the engine learns about an entry once."""

from __future__ import annotations

from collections.abc import Callable

from assistant.dialogue import DialogueEngine, Policy
from assistant.dialogue.policy import RetrievalPolicy
from assistant.embedding import CachingEmbedder, HashingEmbedder, RecordingEmbedder
from tests.dialogue.fakes import Chat, FakeIntents, FakeKB

BROKEN = "下载的课过几天就打不开了"


def _weak_hits(kb: FakeKB, intents: FakeIntents) -> None:
    # Below the fake KB's bar of 0.5: answered only if the message's intent is the entry's own.
    kb.script(BROKEN, [("video-download", 0.3), ("app-download", 0.28)])
    intents.script(BROKEN, "download", 0.8)
    intents.script("课程视频能下载吗", "download", 0.9)  # the entry's own question


def test_after_warm_up_a_backed_weak_hit_costs_the_turn_no_model_call_for_the_entry(
    kb: FakeKB, intents: FakeIntents, make_engine: Callable[..., DialogueEngine]
) -> None:
    _weak_hits(kb, intents)
    policy = Policy(retrieval=RetrievalPolicy(corroborated_evidence=0.4))
    results = []
    for warm in (False, True):
        model = RecordingEmbedder(HashingEmbedder())
        engine = make_engine(policy=policy, embedder=CachingEmbedder(model))
        if warm:
            engine.warm_up(list(kb.entries))
            assert len(model.calls) == 1  # every entry's question in one call
            assert len(model.calls[0]) == len(kb.entries)
            model.calls.clear()
        decision = Chat(engine).say(BROKEN)
        results.append((decision.action, decision.faq_id, decision.trace.notes))
        embedded = model.texts
        if warm:
            assert embedded == [BROKEN]  # the message only
        else:
            assert "课程视频能下载吗" in embedded  # the entry's question, read during the user's turn
    assert results[0] == results[1]  # the same decision either way
    assert results[1][:2] == ("answer", "video-download")


def test_warm_up_skips_ids_the_knowledge_base_does_not_have(
    kb: FakeKB, make_engine: Callable[..., DialogueEngine]
) -> None:
    model = RecordingEmbedder(HashingEmbedder())
    engine = make_engine(embedder=CachingEmbedder(model))
    engine.warm_up(["no-such-entry", "invoice"])
    assert model.calls == [["怎么开发票"]]
