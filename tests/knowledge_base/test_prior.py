"""The shipped fusion prior: a FAQ without alternative questions borrows it instead of calibrating on near-copies."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

import knowledge_base.builder as builder
from assistant.embedding import Embedder, HashingEmbedder
from assistant.st_embedder import BUNDLED_MODEL
from knowledge_base.builder import build_knowledge_base
from knowledge_base.features import context_feature_names, feature_names
from knowledge_base.indexes import IndexConfig
from knowledge_base.knowledge import KnowledgeBase
from knowledge_base.models import FaqEntry
from knowledge_base.prior import MIN_ALTERNATIVES_SHARE, alternatives_share, prior_models
from knowledge_base.sources import load_faq


def _entry(entry_id: str, *alternatives: str) -> FaqEntry:
    return FaqEntry(entry_id, f"question {entry_id}?", "answer", alt_questions=alternatives)


def test_alternatives_share_counts_entries_with_any_alternative() -> None:
    assert alternatives_share([_entry("a", "x", "y"), _entry("b"), _entry("c"), _entry("d", "z")]) == 0.5
    assert alternatives_share([]) == 1.0


def test_shipped_prior_fits_the_default_index() -> None:
    models = prior_models(IndexConfig(), BUNDLED_MODEL)
    assert models is not None, "features changed: regenerate the prior with `python -m evals.kb_prior`"
    plain, context = models
    assert plain.features == feature_names(IndexConfig())
    assert context.features == context_feature_names(IndexConfig())
    assert 0.0 < plain.threshold < 1.0
    assert 0.0 < context.threshold < 1.0


def test_prior_is_not_used_where_it_does_not_fit() -> None:
    assert prior_models(IndexConfig(), "some-other-model") is None  # its cosines live on another scale
    assert prior_models(IndexConfig(fusion="choice"), BUNDLED_MODEL) is None
    assert prior_models(IndexConfig(channels=("words",)), BUNDLED_MODEL) is None  # other features


EXAM_FAQ = Path(__file__).resolve().parents[2] / "evals" / "data" / "foreign" / "exam" / "faq.csv"


@pytest.mark.integration
def test_faq_without_alternatives_borrows_the_prior_and_answers_paraphrases(
    real_embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    entries = load_faq([EXAM_FAQ])  # an exam-prep platform's FAQ, 48 entries
    assert alternatives_share(entries) >= MIN_ALTERNATIVES_SHARE  # as shipped it calibrates itself

    bare = [replace(e, alt_questions=()) for e in entries]  # the same FAQ as many operators write it
    borrowed = build_knowledge_base(bare, real_embedder)
    assert borrowed.models.borrowed
    assert borrowed.manifest.calibration["prior"]["alternatives_share"] == 0.0
    monkeypatch.setattr(builder, "prior_models", lambda *args: None)
    own = build_knowledge_base(bare, real_embedder)
    assert not own.models.borrowed

    # users' own wordings, none of them in the FAQ
    paraphrases = {
        "网课买了才两天 不想学了 钱能退不": "refund-standard",
        "退款批下来了 钱啥时候到我卡上": "refund-arrival",
        "课快过期了 还有一半没看完 能不能多给几天": "course-extension",
        "讲义寄出来没有 等好久了": "materials-shipping",
        "单位要专票才能报销 你们能开吗": "invoice-company-special",
        "换了手机 提示登录设备太多 进不去": "device-management",
        "能不能分几个月付": "installment",
        "视频老是卡 放不动": "playback-problems",
        "做错的题目在哪看 想导出来打印": "question-bank-wrong-notes",
        "how do i get my money back": "en-refund-policy",
    }

    def answered(kb: KnowledgeBase) -> int:
        results = [kb.search(q) for q in paraphrases]
        return sum(
            r.answerable and r.top is not None and r.top.id == want
            for r, want in zip(results, paraphrases.values(), strict=True)
        )

    assert answered(borrowed) > answered(own)


class _NamedLikeTheBundledModel(HashingEmbedder):
    @property
    def name(self) -> str:
        return BUNDLED_MODEL


def test_only_a_faq_short_of_alternatives_borrows_and_only_for_the_prior_s_model(
    faq_entries: list[FaqEntry],
) -> None:
    bare = [replace(e, alt_questions=()) for e in faq_entries]
    bundled = _NamedLikeTheBundledModel()
    assert build_knowledge_base(bare, bundled).models.borrowed
    assert not build_knowledge_base(faq_entries, bundled).models.borrowed  # rich enough to calibrate itself
    assert not build_knowledge_base(bare, HashingEmbedder()).models.borrowed  # another model: its own calibration
    plain, _ = prior_models(IndexConfig(), BUNDLED_MODEL) or (None, None)
    assert plain is not None
    assert build_knowledge_base(bare, bundled).search("怎么开发票").threshold == plain.threshold
