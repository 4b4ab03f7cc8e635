"""The choice fusion: a conditional logit over a query's candidates and "none", saved and loaded with snapshots."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from assistant.embedding import Embedder, HashingEmbedder
from assistant.errors import InvalidInput
from knowledge_base import FaqEntry, IndexConfig, KnowledgeBase, SnapshotManager, build_knowledge_base
from knowledge_base.choice import choice_loss, choice_probabilities
from knowledge_base.fusion import (
    CHOICE,
    CHOICE_MATCHED,
    POINTWISE,
    FusionModel,
    TrainingSet,
    matching_threshold,
    train_fusion,
)


def _synthetic(n_probes: int = 240, seed: int = 0) -> TrainingSet:
    """Probes of 2-6 candidates; the right one (if any) carries the signal, every third probe has none (groups
    of four probes, so every fold holds both kinds)."""
    rng = np.random.default_rng(seed)
    rows, labels, owners, in_scope = [], [], [], []
    for probe in range(n_probes):
        inside = probe % 3 != 0
        in_scope.append(inside)
        for candidate in range(int(rng.integers(2, 7))):
            right = inside and candidate == 0
            rows.append([rng.normal(3.0 if right else 0.0), rng.normal(), float(probe % 5)])
            labels.append(right)
            owners.append(probe)
    return TrainingSet(
        np.asarray(rows), np.asarray(labels), np.asarray(owners), np.arange(n_probes) // 4, np.asarray(in_scope)
    )


def test_the_gradient_of_the_conditional_logit_matches_finite_differences() -> None:
    data = _synthetic(40)
    loss = choice_loss(data.matrix, data.labels, data.probe, 40, penalty=0.05)
    params = np.random.default_rng(1).normal(size=data.matrix.shape[1] + 1)
    _, grad = loss(params)
    step = 1e-6
    numeric = [(loss(params + e)[0] - loss(params - e)[0]) / (2 * step) for e in np.eye(len(params)) * step]
    np.testing.assert_allclose(grad, numeric, atol=1e-6)


def test_a_query_shares_one_unit_of_probability_with_none() -> None:
    z = np.array([2.0, 1.0, -1.0, 50.0, -3.0])
    probe = np.array([0, 0, 0, 1, 2])
    p = choice_probabilities(z, probe, 3)
    sums = np.bincount(probe, weights=p)
    assert np.all(sums <= 1.0)
    assert sums[0] < 0.95
    assert sums[2] < 0.1
    assert p[3] > 0.999  # huge utilities do not overflow
    np.testing.assert_allclose(p[:3] / p[:3].sum(), np.exp(z[:3]) / np.exp(z[:3]).sum())


def test_choice_fusion_ranks_the_right_row_first_and_rejects_probes_without_one() -> None:
    data = _synthetic()
    model = train_fusion(data, ("signal", "noise", "q_len"), kind=CHOICE)
    assert model.kind == CHOICE
    assert model.coef[0] > 1.0
    assert model.metrics["top1"] > 0.9
    assert model.metrics["oos_rejected"] > 0.7
    # one query's rows: the right candidate scores above the threshold, a query of noise alone below it
    right = model.predict(np.array([[3.5, 0.0, 1.0], [0.0, 0.0, 1.0], [0.2, 1.0, 1.0]]))
    noise = model.predict(np.array([[0.1, 0.0, 1.0], [0.0, 0.0, 1.0], [0.2, 1.0, 1.0]]))
    assert right.argmax() == 0
    assert right[0] >= model.threshold > noise.max()


def test_an_evidence_weight_never_turns_negative_in_the_choice_fit() -> None:
    data = _synthetic()
    # a feature that is evidence by name but anti-correlated with the right rows in this data
    flipped = TrainingSet(
        np.column_stack([data.matrix[:, 0], -data.matrix[:, 0] + data.matrix[:, 1]]),
        data.labels,
        data.probe,
        data.groups,
        data.in_scope,
    )
    model = train_fusion(flipped, ("signal", "d_cos"), kind=CHOICE)
    assert model.coef[1] >= 0.0


def test_an_unknown_fusion_kind_is_refused() -> None:
    with pytest.raises(InvalidInput, match="fusion kind"):
        train_fusion(_synthetic(), ("signal", "noise", "q_len"), kind="listwise")


def test_a_saved_choice_snapshot_loads_and_answers_like_the_built_one(
    tmp_path: Path, faq_entries: list[FaqEntry]
) -> None:
    manager = SnapshotManager(tmp_path, HashingEmbedder(dimension=64))
    manager.build(faq_entries, "sum", config=IndexConfig(fusion=CHOICE))
    built = manager.current
    loaded = manager.load()
    assert loaded.manifest.config.fusion == CHOICE
    assert loaded.models.plain.kind == CHOICE
    assert loaded.models.context.kind == CHOICE
    for query in ("怎么开发票？", "课程可以退款吗", "今天天气怎么样"):
        a, b = built.search(query), loaded.search(query)
        assert [h.id for h in a.hits] == [h.id for h in b.hits]
        np.testing.assert_allclose([h.score for h in a.hits], [h.score for h in b.hits])
        assert a.answerable == b.answerable
        assert sum(h.score for h in a.hits) <= 1.0


def test_a_snapshot_saved_before_the_choice_fusion_loads_as_pointwise(
    tmp_path: Path, faq_entries: list[FaqEntry]
) -> None:
    manager = SnapshotManager(tmp_path, HashingEmbedder(dimension=64))
    version = manager.build(faq_entries, "sum")
    directory = manager.path(version)
    before = manager.load().search("怎么开发票？")
    # the files as an older version wrote them: no fusion kind in the models, no fusion in the config
    models = json.loads((directory / "fusion.json").read_text())
    for model in models.values():
        del model["kind"]
    (directory / "fusion.json").write_text(json.dumps(models))
    manifest = json.loads((directory / "manifest.json").read_text())
    del manifest["config"]["fusion"]
    (directory / "manifest.json").write_text(json.dumps(manifest))
    old = manager.load()
    assert old.models.plain.kind == POINTWISE
    assert old.manifest.config.fusion == POINTWISE
    after = old.search("怎么开发票？")
    assert [h.id for h in after.hits] == [h.id for h in before.hits]
    np.testing.assert_allclose([h.score for h in after.hits], [h.score for h in before.hits])
    assert FusionModel.from_json(models["plain"]).kind == POINTWISE


@pytest.fixture(scope="module")
def choice_kb(real_embedder: Embedder, faq_entries: list[FaqEntry]) -> KnowledgeBase:
    """The fixture FAQ with the real model and the choice fusion."""
    return build_knowledge_base(faq_entries, real_embedder, config=IndexConfig(fusion=CHOICE))


@pytest.mark.integration
@pytest.mark.parametrize(
    ("paraphrase", "expected"),
    [
        ("我买错课程了，钱能退给我吗", "refund-course"),
        ("自动续飞怎么关", "cancel-renew"),
        ("How can I get my money back", "en-refund"),
    ],
)
def test_an_exact_faq_wording_scores_at_least_as_high_as_a_paraphrase(
    choice_kb: KnowledgeBase, paraphrase: str, expected: str
) -> None:
    entry = choice_kb.get(expected)
    assert entry is not None
    exact = choice_kb.search(entry.question)
    loose = choice_kb.search(paraphrase)
    assert exact.top is not None
    assert exact.top.id == expected
    assert exact.answerable
    score = {h.id: h.score for h in loose.hits}.get(expected, 0.0)
    assert exact.top.score >= score


def test_the_matched_bar_rejects_as_many_oos_probes_as_the_pointwise_bar(faq_entries: list[FaqEntry]) -> None:
    embedder = HashingEmbedder(dimension=64)
    pointwise = build_knowledge_base(faq_entries, embedder, config=IndexConfig(fusion=POINTWISE))
    matched = build_knowledge_base(faq_entries, embedder, config=IndexConfig(fusion=CHOICE_MATCHED))
    for name in ("plain", "context"):
        before, after = pointwise.manifest.calibration[name], matched.manifest.calibration[name]
        one_probe = 1.0 / after["probes_out_of_scope"]
        # the reference is the pointwise build's own out-of-fold operating point on the same probes
        assert after["reference_oos_rejected"] == pytest.approx(before["oos_rejected"])
        assert abs(after["oos_rejected"] - before["oos_rejected"]) <= one_probe + 1e-9
    assert matched.models.plain.kind == CHOICE
    assert matched.manifest.config.fusion == CHOICE_MATCHED


def test_the_matching_threshold_rejects_the_asked_share_of_oos_probes() -> None:
    data = _synthetic()
    model = train_fusion(data, ("signal", "noise", "q_len"), kind=CHOICE_MATCHED)
    free = train_fusion(data, ("signal", "noise", "q_len"), kind=CHOICE)
    pointwise = train_fusion(data, ("signal", "noise", "q_len"))
    n_out = model.metrics["probes_out_of_scope"]
    assert model.metrics["reference_oos_rejected"] == pytest.approx(pointwise.metrics["oos_rejected"])
    assert abs(model.metrics["oos_rejected"] - pointwise.metrics["oos_rejected"]) <= 1 / n_out + 1e-9
    # same scores as the choice model, only the bar moves
    np.testing.assert_allclose(model.coef, free.coef)
    assert model.threshold != free.threshold
    top_p = np.linspace(0.0, 1.0, 11)
    in_scope = np.zeros(11, dtype=bool)
    assert np.mean(top_p < matching_threshold(top_p, in_scope, 0.3)) == pytest.approx(3 / 11)
    assert np.mean(top_p < matching_threshold(top_p, in_scope, 1.0)) == 1.0
    assert np.mean(top_p < matching_threshold(top_p, in_scope, 0.0)) == 0.0


def test_a_choice_matched_snapshot_round_trips(tmp_path: Path, faq_entries: list[FaqEntry]) -> None:
    manager = SnapshotManager(tmp_path, HashingEmbedder(dimension=64))
    manager.build(faq_entries, "sum", config=IndexConfig(fusion=CHOICE_MATCHED))
    built, loaded = manager.current, manager.load()
    assert loaded.manifest.config.fusion == CHOICE_MATCHED
    assert loaded.models.plain.threshold == built.models.plain.threshold
    for query in ("怎么开发票？", "今天天气怎么样"):
        a, b = built.search(query), loaded.search(query)
        assert [h.id for h in a.hits] == [h.id for h in b.hits]
        assert a.answerable == b.answerable
