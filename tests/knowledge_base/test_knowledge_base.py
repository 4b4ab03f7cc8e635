"""KnowledgeBase behaviour with a fake embedder: lookup, live add/remove/replace without a rebuild."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.embedding import HashingEmbedder, RecordingEmbedder
from knowledge_base import FaqEntry, KnowledgeBase, build_knowledge_base
from knowledge_base.analysis import analyze, gloss
from knowledge_base.expansion import word_gloss
from knowledge_base.indexes import entry_documents


@pytest.fixture(scope="module")
def built(faq_entries: list[FaqEntry]) -> KnowledgeBase:
    return build_knowledge_base(faq_entries, HashingEmbedder(dimension=64))


@pytest.fixture
def kb(built: KnowledgeBase) -> tuple[KnowledgeBase, RecordingEmbedder]:
    """A fresh KnowledgeBase over the built indexes, so each test may mutate its own."""
    embedder = RecordingEmbedder(HashingEmbedder(dimension=64))
    return KnowledgeBase(built.indexes, built.models, embedder, built.manifest), embedder


NEW = FaqEntry(
    id="gift",
    question="可以把课程送给朋友吗？",
    answer="在课程页点「赠送」，把链接发给朋友领取。",
    category="gift",
    alt_questions=("买课送人",),
)


def test_get_and_entries(kb: tuple[KnowledgeBase, RecordingEmbedder], faq_entries: list[FaqEntry]) -> None:
    base, _ = kb
    assert base.get("invoice") == next(e for e in faq_entries if e.id == "invoice")
    assert base.get("nope") is None
    assert [e.id for e in base.entries] == [e.id for e in faq_entries]


def test_add_embeds_only_the_new_texts_and_is_searchable(
    kb: tuple[KnowledgeBase, RecordingEmbedder], faq_entries: list[FaqEntry]
) -> None:
    base, embedder = kb
    table = base.indexes.word_vectors
    assert table is not None
    texts = [text for _, text in entry_documents(NEW, base.indexes.config)]  # questions, and the answer
    new_words = table.missing(w for q in texts for w in analyze(q).words)
    base.add([NEW])
    # the new texts, their English glosses, and the glosses of words the FAQ did not have yet: nothing else
    expected = {*texts, *(gloss(q) for q in texts), *(word_gloss(w) for w in new_words)}
    assert set(embedder.texts) == expected
    assert not {q for e in faq_entries for q in e.all_questions} & set(embedder.texts)
    assert base.get("gift") == NEW
    assert base.search("可以把课程送给朋友吗").hits[0].id == "gift"
    assert base.manifest.entry_count == 15
    assert base.changes == 1


def test_remove_takes_the_entry_out_of_every_index(kb: tuple[KnowledgeBase, RecordingEmbedder]) -> None:
    base, embedder = kb
    assert base.search("怎么开发票？").hits[0].id == "invoice"
    assert base.remove(["invoice", "not-there"]) == 1
    assert base.get("invoice") is None
    assert "invoice" not in [h.id for h in base.search("怎么开发票？", top_k=20).hits]
    assert base.remove(["invoice"]) == 0
    assert base.manifest.entry_count == 13
    # queries (the text, its gloss, glosses of its words) only: no FAQ text is embedded again
    assert "怎么开发票？" in embedder.texts
    assert not {q for e in base.entries for q in e.all_questions} & set(embedder.texts)


def test_add_with_an_existing_id_replaces_the_entry(kb: tuple[KnowledgeBase, RecordingEmbedder]) -> None:
    base, _ = kb
    updated = FaqEntry(id="coupon", question="兑换码在哪里输入？", answer="在「我的」→「兑换」输入。")
    base.add([updated])
    assert base.get("coupon") == updated
    assert len(base.entries) == 14
    assert base.search("兑换码在哪里输入").hits[0].id == "coupon"
    assert "coupon" not in [h.id for h in base.search("优惠券怎么用？", top_k=3).hits[:1]]


def test_searches_keep_their_view_while_entries_change(kb: tuple[KnowledgeBase, RecordingEmbedder]) -> None:
    base, _ = kb
    before = base.indexes
    base.remove(["replay"])
    assert before.slot_of.get("replay") is not None  # the old immutable view is intact for in-flight searches
    assert base.indexes.slot_of.get("replay") is None


def test_bad_arguments_are_rejected(kb: tuple[KnowledgeBase, RecordingEmbedder]) -> None:
    from assistant.errors import InvalidInput

    base, _ = kb
    with pytest.raises(InvalidInput):
        base.search("x", top_k=0)
    with pytest.raises(InvalidInput):
        base.search("x", vector=np.zeros(3, dtype=np.float32))


def test_answers_can_be_left_out_of_the_char_and_pinyin_channels() -> None:
    from knowledge_base.indexes import IndexConfig, IndexSet

    embedder = HashingEmbedder(dimension=32)
    entries = [
        FaqEntry(id="refund", question="课程怎么退款", answer="在订单页面点击申请售后即可。", category="c"),
        FaqEntry(id="invoice", question="怎么开发票", answer="发票在个人中心下载。", category="c"),
    ]
    answer_doc = 1  # the refund entry's documents: its question (0), then its answer
    for config, in_chars in ((IndexConfig(), True), (IndexConfig(answer_channels=("words",)), False)):
        ix = IndexSet.empty(config, embedder.dimension).add(entries, embedder.embed)
        assert int(ix.doc_pos[answer_doc]) == -1
        words = ix.sparse["words"].search(ix.sparse["words"].encode(analyze("申请售后").words), 5)
        chars = ix.sparse["chars"].search(ix.sparse["chars"].encode(analyze("申请售后").chars), 5)
        assert answer_doc in words.docs.tolist()
        assert (answer_doc in chars.docs.tolist()) == in_chars
    # the choice is part of the snapshot; manifests written before it existed indexed answers everywhere
    words_only = IndexConfig(answer_channels=("words",))
    assert IndexConfig.from_json(words_only.to_json()) == words_only
    before = {k: v for k, v in IndexConfig().to_json().items() if k != "answer_channels"}
    assert all(IndexConfig.from_json(before).indexes_answer(c) for c in ("words", "chars", "pinyin"))
