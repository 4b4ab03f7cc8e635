"""Public intent datasets recast as FAQs (evals/kb_public.py): the FAQ and query sets it builds."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.embedding import HashingEmbedder
from assistant.intents.data import Example
from evals.kb_eval import evaluate
from evals.kb_public import faq_from_examples, main, sample_queries
from knowledge_base import KnowledgeBase, build_knowledge_base

TRAIN = [
    *(Example(f"怎么申请退款 第{i}次 退钱", "refund/request") for i in range(8)),
    *(Example(f"发票怎么开 第{i}次 开票", "invoice?") for i in range(8)),
    *(Example(f"明天天气 第{i}次", "oos") for i in range(3)),
]


def test_each_in_scope_intent_becomes_one_entry_with_the_chosen_number_of_wordings() -> None:
    entries = faq_from_examples(TRAIN, shots=3, locale="zh")
    assert sorted(e.id for e in entries) == ["invoice", "refund/request"]  # `?` is not allowed in an id
    assert all(len(e.all_questions) == 3 for e in entries)
    assert all(set(e.all_questions) <= {x.text for x in TRAIN} for e in entries)
    assert faq_from_examples(TRAIN, shots=3, locale="zh") == entries  # seeded: the same FAQ every run


def test_queries_are_labelled_with_entry_ids_and_out_of_scope_ones_with_none() -> None:
    test = [Example("我要退款", "refund/request"), Example("开张发票", "invoice?"), Example("oos text", "oos")]
    queries = sample_queries(test, in_scope=10, oos=[Example("讲个笑话", "oos")])
    assert sorted((q.query, q.expected) for q in queries) == [
        ("开张发票", "invoice"),
        ("我要退款", "refund/request"),
        ("讲个笑话", ""),
    ]


def test_a_kb_built_from_the_recast_faq_finds_the_intent_of_an_unseen_wording() -> None:
    kb = build_knowledge_base(faq_from_examples(TRAIN, shots=4, locale="zh"), HashingEmbedder(dimension=64))
    report = evaluate(kb, sample_queries([Example("退钱 退款 怎么申请", "refund/request")], 5, []))
    assert report["overall"]["top1"] == 1.0


def test_the_cli_rejects_unknown_datasets_and_a_missing_data_folder(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        main(["--only", "nope"])
    assert main(["--data-dir", str(tmp_path / "absent"), "--only", "xsid_zh"]) == 2


def test_the_prototypes_switch_builds_with_the_prototype_features(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import assistant.st_embedder
    import evals.kb_public as public

    monkeypatch.setattr(assistant.st_embedder, "load_embedder", lambda *a, **k: HashingEmbedder(dimension=64))
    queries = sample_queries([Example("退钱 退款 怎么申请", "refund/request")], 5, [])
    monkeypatch.setattr(public, "_dataset", lambda *a: (faq_from_examples(TRAIN, 4, "zh"), queries))
    features: list[tuple[str, ...]] = []

    def spy(*args: object, **kwargs: object) -> KnowledgeBase:
        kb = build_knowledge_base(*args, **kwargs)  # type: ignore[arg-type]
        features.append(kb.models.plain.features)
        return kb

    monkeypatch.setattr(public, "build_knowledge_base", spy)
    for flag, on in (([], False), (["--prototypes"], True)):
        assert main(["--data-dir", str(tmp_path), "--only", "xsid_zh", "--out", str(tmp_path / "r"), *flag]) == 0
        assert ("d_proto" in features[-1]) is on
