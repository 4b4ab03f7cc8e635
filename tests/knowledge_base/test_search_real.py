"""The real path: bundled model through ONNX, real FAISS and BM25, fusion calibrated at build time."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assistant.embedding import Embedder, RecordingEmbedder
from assistant.errors import InvalidInput
from knowledge_base import KnowledgeBase

pytestmark = pytest.mark.integration


def _top(kb: KnowledgeBase, query: str, context: str | None = None) -> tuple[str, bool]:
    result = kb.search(query, context=context)
    assert result.top is not None
    return result.top.id, result.answerable


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("课程退宽", "refund-course"),  # homophone typo of 退款
        ("我买错课程了，钱能退给我吗", "refund-course"),  # colloquial paraphrase
        ("自动续飞怎么关", "cancel-renew"),  # homophone typo of 续费
        ("密码想不起来了", "password"),
        ("How can I get my money back", "en-refund"),  # English finds the English entry
    ],
)
def test_user_wording_finds_the_right_entry(real_kb: KnowledgeBase, query: str, expected: str) -> None:
    assert _top(real_kb, query) == (expected, True)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("can I download the lessons and watch them offline?", "download"),
        ("is there a replay after the live class?", "replay"),
        ("do I get a certificate when I finish", "certificate"),
    ],
)
def test_english_questions_find_entries_written_only_in_chinese(
    real_kb: KnowledgeBase, query: str, expected: str
) -> None:
    assert _top(real_kb, query) == (expected, True)


@pytest.mark.parametrize("query", ["明天上海天气怎么样", "帮我写一首关于大海的诗", "what is the capital of france"])
def test_out_of_scope_questions_are_rejected(real_kb: KnowledgeBase, query: str) -> None:
    result = real_kb.search(query)
    assert not result.answerable
    assert all(h.score < result.threshold for h in result.hits)


@pytest.fixture(scope="module")
def demo_kb(prepared_data_dir: Path, real_embedder: Embedder) -> KnowledgeBase:
    """The demo FAQ's snapshot, built once per session with the real model (about 90 entries)."""
    from assistant.settings import Settings
    from knowledge_base.snapshots import SnapshotManager

    return SnapshotManager(Settings(data_dir=prepared_data_dir, log_json=False).kb_dir, real_embedder).load()


@pytest.mark.parametrize(
    ("query", "plain"),
    [
        ("爱奇艺的会员怎么取消自动续费", "会员怎么取消自动续费"),
        ("淘宝的退款多久到账", "退款多久到账"),
        ("how do i cancel my spotify subscription", "how do i cancel my subscription"),
    ],
)
def test_questions_about_other_products_score_below_our_own(demo_kb: KnowledgeBase, query: str, plain: str) -> None:
    ours, theirs = demo_kb.search(plain), demo_kb.search(query)
    assert ours.answerable
    assert ours.hits[0].id == theirs.hits[0].id  # the same entry is the nearest one...
    assert theirs.hits[0].score < ours.hits[0].score  # ...but the product it does not know costs confidence
    assert theirs.hits[0].features["w_cover"] < ours.hits[0].features["w_cover"]


def test_a_word_no_entry_holds_lowers_the_coverage_feature(real_kb: KnowledgeBase) -> None:
    own = real_kb.search("怎么取消自动续费").hits[0]
    other = real_kb.search("怎么取消爱奇艺的自动续费").hits[0]
    assert own.id == other.id == "cancel-renew"
    assert own.features["w_cover"] == pytest.approx(1.0)
    assert other.features["w_cover"] < 0.8
    assert other.score < own.score


def test_follow_up_uses_the_previous_topic(real_kb: KnowledgeBase) -> None:
    previous = real_kb.get("refund-course")
    assert previous is not None
    assert _top(real_kb, "那会员呢？", context=previous.question) == ("refund-member", True)


@pytest.mark.parametrize(
    ("follow_up", "entry"),
    [
        ("学习进度有要求吗", "refund-course"),  # the course refund's answer names the progress limit
        ("要等几个小时", "replay"),  # the replay's answer says how long
        ("订单详情页在哪", "invoice"),  # the invoice answer's menu path
    ],
)
def test_a_follow_up_about_a_detail_of_the_answer_stays_on_its_entry(
    real_kb: KnowledgeBase, follow_up: str, entry: str
) -> None:
    # Only the answer, not any question of the entry, holds the detail asked about: the build-time follow-up
    # probes about their own answer teach the model with a context that such a follow-up keeps its topic.
    previous = real_kb.get(entry)
    assert previous is not None
    assert _top(real_kb, follow_up, context=previous.question) == (entry, True)


def test_scores_are_probabilities_best_first(real_kb: KnowledgeBase) -> None:
    result = real_kb.search("会员能退吗", top_k=4)
    scores = [h.score for h in result.hits]
    assert len(scores) == 4
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert result.hits[0].id == "refund-member"
    assert result.hits[0].matched == "会员能退吗"


def test_caller_supplied_vector_is_used_and_batch_matches_single(
    real_kb: KnowledgeBase, real_embedder: Embedder
) -> None:
    queries = ["怎么开发票", "直播错过了", "明天天气"]
    vectors = real_embedder.embed(queries)
    batch = real_kb.search_batch(queries, vectors=vectors)
    for query, vector, from_batch in zip(queries, vectors, batch, strict=True):
        single = real_kb.search(query, vector=vector)
        assert [h.id for h in single.hits] == [h.id for h in from_batch.hits]
        np.testing.assert_allclose([h.score for h in single.hits], [h.score for h in from_batch.hits], atol=1e-6)
        assert single.answerable == from_batch.answerable
    assert [r.hits[0].id for r in batch[:2]] == ["invoice", "replay"]


def test_empty_query_has_no_answer(real_kb: KnowledgeBase) -> None:
    result = real_kb.search("   ")
    assert result.hits == ()
    assert not result.answerable


def test_search_given_every_model_output_calls_no_model_and_finds_what_a_plain_search_finds(
    real_kb: KnowledgeBase, real_embedder: Embedder
) -> None:
    counting = RecordingEmbedder(real_embedder)
    kb = KnowledgeBase(real_kb.indexes, real_kb.models, counting, real_kb.manifest)
    # a homophone typo, English, out of scope, and a word no entry holds (its gloss must be embedded)
    queries = ["课程退宽", "How can I get my money back", "明天天气", "淘宝买的课怎么退"]
    prepared = kb.query_vectors(queries)
    assert len(counting.texts) > len(queries)  # the glosses and the unseen words were embedded with the texts
    counting.calls.clear()
    for query, ready in zip(queries, prepared, strict=True):
        given, plain = kb.search(query, prepared=ready), real_kb.search(query)
        assert [h.id for h in given.hits] == [h.id for h in plain.hits]
        np.testing.assert_allclose([h.score for h in given.hits], [h.score for h in plain.hits], atol=1e-4)
        assert given.answerable == plain.answerable
    previous = real_kb.get("refund-course")
    assert previous is not None
    ready = kb.query_vectors(["那会员呢？"])[0]
    counting.calls.clear()
    followup = kb.search("那会员呢？", context=previous.question, prepared=ready)
    assert counting.texts == []  # the context is an FAQ question: its vectors are stored
    assert followup.hits[0].id == "refund-member"
    with pytest.raises(InvalidInput):
        kb.search_batch(queries, prepared=prepared[:1])
