"""The Cilin concept channel: words that differ but share a synonym group meet there, through the real index."""

from __future__ import annotations

from pathlib import Path

from assistant.embedding import HashingEmbedder
from knowledge_base import FaqEntry, SnapshotManager
from knowledge_base.analysis import CHANNELS, analyze
from knowledge_base.indexes import IndexConfig, IndexSet
from knowledge_base.thesaurus import FaqSynonyms, classes, concepts

WITH_CONCEPTS = IndexConfig(channels=(*CHANNELS, "concepts"))
ENTRIES = [
    FaqEntry(id="buy", question="在哪里购买课程", answer="在课程详情页点击购买。", category="c"),
    FaqEntry(id="password", question="忘记密码怎么办", answer="在登录页点击找回密码。", category="c"),
    FaqEntry(id="invoice", question="怎么开发票", answer="发票在个人中心申请。", category="c"),
]


def test_synonyms_share_a_group_and_unrelated_words_do_not() -> None:
    assert set(concepts("购买")) & set(concepts("买"))
    assert set(concepts("忘记")) & set(concepts("忘掉"))
    assert not set(concepts("购买")) & set(concepts("密码"))
    assert FaqSynonyms.build(["购买", "密码"]).of("买") == ()  # one-character words are left out
    assert FaqSynonyms.build(["忘记", "密码"]).of("忘掉") == ("忘记",)
    assert set(classes("购买")) >= {code[:5] for code in concepts("购买")}
    assert concepts("不是一个词") == ()


def test_analysis_gives_a_paraphrase_the_concept_of_the_faq_word() -> None:
    faq, user = analyze("忘记密码怎么办"), analyze("密码忘掉了")
    assert "忘记" not in user.words
    assert set(faq.concepts) & set(user.concepts)


def test_a_query_worded_only_with_a_synonym_finds_the_entry_in_the_concept_channel() -> None:
    ix = IndexSet.empty(WITH_CONCEPTS, 32).add(ENTRIES, HashingEmbedder(dimension=32).embed)
    query = analyze("密码忘掉了")
    words = ix.sparse["words"]
    concept_index = ix.sparse["concepts"]
    found = concept_index.search(concept_index.encode(query.concepts), 3)
    assert found.docs.size
    assert ix.doc_slot[found.docs[0]] == ix.slot_of["password"]
    # the words channel holds 密码 only; 忘掉 meets 忘记 through the concept alone
    assert "忘掉" in query.words
    assert "忘掉" not in words
    assert words.encode(["忘掉"]).ids.size == 0


def test_snapshots_record_the_concept_channel_and_older_ones_still_load(tmp_path: Path) -> None:
    embedder = HashingEmbedder(dimension=32)
    for name, config in (("now", WITH_CONCEPTS), ("before", IndexConfig(channels=CHANNELS))):
        manager = SnapshotManager(tmp_path / name, embedder)
        manager.build(ENTRIES, "checksum", config=config)
        kb = manager.load()
        assert ("concepts" in kb.indexes.config.channels) == (name == "now")
        assert kb.search("忘记密码怎么办").top is not None
    assert IndexConfig.from_json(WITH_CONCEPTS.to_json()) == WITH_CONCEPTS


def test_with_the_thesaurus_a_synonym_of_an_faq_word_expands_the_query_to_it() -> None:
    from knowledge_base.features import NO_VECTORS, make_view

    embed = HashingEmbedder(dimension=32).embed
    on = IndexSet.empty(IndexConfig(thesaurus=True), 32).add(ENTRIES, embed)
    off = IndexSet.empty(IndexConfig(), 32).add(ENTRIES, embed)
    assert on.faq_synonyms is not None
    assert on.faq_synonyms.of("忘掉") == ("忘记",)
    assert off.faq_synonyms is None
    soft = make_view(on, "密码忘掉了", NO_VECTORS).scores["soft"]
    assert ix_slot(on, int(soft.docs[0])) == "password"
    # without it, 忘掉 stands for nothing the FAQ holds: only 密码 is covered
    covered = {
        view.cover.owner.sum()
        for view in (make_view(on, "忘掉", NO_VECTORS), make_view(off, "忘掉", NO_VECTORS))
        if view.cover
    }
    assert covered == {1.0, 0.0}
    assert (
        IndexConfig.from_json({k: v for k, v in IndexConfig().to_json().items() if k != "thesaurus"}) == IndexConfig()
    )


def ix_slot(ix: IndexSet, doc: int) -> str:
    entry = ix.entries[int(ix.doc_slot[doc])]
    assert entry is not None
    return entry.id
