"""Knowledge-base benchmark: build time and peak memory per size, search latency, throughput, ANN choice.

    python -m bench.kb_bench [--sizes 1000,10000,100000] [--dense auto|real|random] [--queries 300]

Each size runs in its own subprocess so its peak RSS is its own. `--dense auto` embeds with the real model
up to 10k entries and uses random unit vectors above (the dense index still has the full size; only the
model cost is skipped, which is what "search latency excluding the query embedding" measures).
Writes bench/results/kb_bench.md and .json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "results" / "kb_bench"
MODEL_CACHE = ROOT / "data" / "models"
REAL_MAX = 10_000


def _pcts(samples_ms: Sequence[float]) -> dict[str, float]:
    ordered = sorted(samples_ms)

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]

    return {"p50": round(pick(0.5), 3), "p95": round(pick(0.95), 3), "mean": round(statistics.fmean(ordered), 3)}


def _time_each(fn: Callable[[int], object], n: int, cpu: list[float] | None = None) -> list[float]:
    """Wall-clock ms per call; with `cpu`, also this thread's CPU ms (excludes waiting for a core)."""
    out = []
    for i in range(n):
        start, start_cpu = time.perf_counter(), time.thread_time()
        fn(i)
        out.append((time.perf_counter() - start) * 1000)
        if cpu is not None:
            cpu.append((time.thread_time() - start_cpu) * 1000)
    return out


class _TimedEmbedder:
    """Wraps an embedder and adds up the time spent in the model."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.seconds = 0.0

    @property
    def name(self) -> str:
        return str(self.inner.name)

    @property
    def dimension(self) -> int:
        return int(self.inner.dimension)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        start = time.perf_counter()
        try:
            return np.asarray(self.inner.embed(texts))
        finally:
            self.seconds += time.perf_counter() - start


def worker(size: int, dense: str, n_queries: int) -> dict[str, Any]:
    """Build one synthetic KB and measure it (runs inside a subprocess).

    Threads are set as the server sets them (app.limit_native_threads, ASSISTANT_EMBEDDING_THREADS' default of
    one ONNX thread) and searches embed through the server's text cache, emptied before each measured phase so
    a query is never served from its own earlier embedding.
    """
    from app import limit_native_threads
    from assistant.embedding import CachingEmbedder
    from assistant.settings import Settings
    from bench.kb_synthetic import RandomUnitEmbedder, synthetic_faq, synthetic_queries
    from knowledge_base import build_knowledge_base

    limit_native_threads()
    entries = synthetic_faq(size)
    queries = synthetic_queries(entries, n_queries)
    if dense == "real":
        from assistant.st_embedder import load_embedder

        # The embedder as the server builds it by default: fp32 ONNX with the common words' gloss table.
        defaults = Settings.model_fields
        model: Any = load_embedder(
            defaults["embedding_model"].default,
            "onnx",
            cache_dir=MODEL_CACHE,
            threads=defaults["embedding_threads"].default,
            gloss_words=defaults["embedding_gloss_words"].default,
        )
        model.warm_up()
        inner: Any = model
    else:
        inner = RandomUnitEmbedder(384)
    embedder = _TimedEmbedder(inner)
    start = time.perf_counter()
    kb = build_knowledge_base(entries, embedder)
    build_s = time.perf_counter() - start
    embedder.inner = CachingEmbedder(inner)
    result: dict[str, Any] = {
        "size": size,
        "dense": dense,
        "texts": kb.manifest.doc_count,
        "index_kind": kb.manifest.index_kind,
        "build_s": round(build_s, 1),
        "build_embedding_s": round(embedder.seconds, 1),
    }
    # Every model output a query needs (its text, its English gloss, glosses of words the FAQ lacks), computed
    # ahead: "search excl. embedding" is then the search alone. The older figure, a given text vector with the
    # gloss and new words embedded during the search, stays in its own column.
    start = time.perf_counter()
    prepared = [kb.query_vectors([q])[0] for q in queries]
    result["query_model_outputs_ms_mean"] = round((time.perf_counter() - start) * 1000 / len(queries), 3)
    vectors = np.vstack([p.text for p in prepared if p.text is not None])
    for i in range(10):  # warm caches and lazy imports
        kb.search(queries[i], prepared=prepared[i])
    embedder.inner = CachingEmbedder(inner)
    calls = embedder.seconds
    cpu: list[float] = []
    result["search_excl_embedding_ms"] = _pcts(
        _time_each(lambda i: kb.search(queries[i], prepared=prepared[i]), len(queries), cpu)
    )
    result["search_excl_embedding_cpu_ms"] = _pcts(cpu)
    if embedder.seconds != calls:
        raise SystemExit("a search given every model output still called the model")
    result["load_average"] = [round(v, 2) for v in os.getloadavg()]
    embedder.inner = CachingEmbedder(inner)
    result["search_given_text_vector_ms"] = _pcts(
        _time_each(lambda i: kb.search(queries[i], vector=vectors[i]), len(queries))
    )
    context = entries[0].question
    if dense == "real":
        embedder.inner = CachingEmbedder(inner)
        result["embedding_one_query_ms"] = _pcts(_time_each(lambda i: inner.embed([queries[i]]), len(queries)))
        embedder.inner = CachingEmbedder(inner)
        result["query_model_outputs_ms"] = _pcts(_time_each(lambda i: kb.query_vectors([queries[i]]), len(queries)))
        embedder.inner = CachingEmbedder(inner)
        result["search_end_to_end_ms"] = _pcts(_time_each(lambda i: kb.search(queries[i]), len(queries)))
        embedder.inner = CachingEmbedder(inner)
        result["search_with_context_end_to_end_ms"] = _pcts(
            _time_each(lambda i: kb.search(queries[i], context=context), min(len(queries), 100))
        )
    batch = 32
    embedder.inner = CachingEmbedder(inner)
    start = time.perf_counter()
    for i in range(0, len(queries), batch):
        kb.search_batch(queries[i : i + batch], prepared=prepared[i : i + batch])
    result["batch_qps_excl_embedding"] = round(len(queries) / (time.perf_counter() - start), 1)
    if dense == "real":
        embedder.inner = CachingEmbedder(inner)
        start = time.perf_counter()
        for i in range(0, len(queries), batch):
            kb.search_batch(queries[i : i + batch])
        result["batch_qps_end_to_end"] = round(len(queries) / (time.perf_counter() - start), 1)
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    if kb.indexes.dense is not None and kb.indexes.dense.kind == "hnsw":  # after the peak: it adds two tables
        embedder.inner = CachingEmbedder(inner)
        result["top10_recall_vs_exact"] = _recall_vs_exact(kb, inner, queries, prepared)
    return result


def _recall_vs_exact(kb: Any, embed: Any, queries: Sequence[str], prepared: Sequence[Any]) -> float:
    """Share of the top-10 entries found with exact dense retrieval (every stored vector compared, float16 vectors
    as before 8-bit HNSW) that the knowledge base's own top 10 holds, over the bench queries."""
    import faiss

    from knowledge_base.indexes import embed_unique
    from knowledge_base.knowledge import KnowledgeBase
    from knowledge_base.vector_index import FaissVectorIndex

    ix = kb.indexes
    docs = np.flatnonzero(ix.doc_slot >= 0)
    texts = [ix.doc_text(int(d)) for d in docs]

    def exact(of: list[str]) -> FaissVectorIndex:
        table, rows = embed_unique(embed.embed, of, dtype=np.float16)
        flat = faiss.IndexScalarQuantizer(ix.dimension, faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT)
        return FaissVectorIndex(faiss.IndexIDMap2(flat), "flat").with_vectors(docs, table, rows)

    from knowledge_base.analysis import gloss

    glossed = exact([gloss(t) for t in texts]) if ix.gloss is not None else None
    reference = KnowledgeBase(replace(ix, dense=exact(texts), gloss=glossed), kb.models, kb.embedder, kb.manifest)
    found = [0, 0]
    for query, vectors in zip(queries, prepared, strict=True):
        wanted = {h.id for h in reference.search(query, top_k=10, prepared=vectors).hits}
        got = {h.id for h in kb.search(query, top_k=10, prepared=vectors).hits}
        found[0] += len(wanted & got)
        found[1] += len(wanted)
    return round(found[0] / max(found[1], 1), 4)


def ann_worker(n: int, n_queries: int = 200, k: int = 10) -> dict[str, Any]:
    """Exact flat vs HNSW search on clustered 384-d unit vectors: latency and HNSW recall@k."""
    from knowledge_base.vector_index import FaissVectorIndex

    rng = np.random.default_rng(0)
    # FAQ texts cluster by topic (uniform random vectors would make every neighbour equidistant)
    centers = rng.standard_normal((max(n // 50, 10), 384)).astype(np.float32)
    x = centers[rng.integers(0, len(centers), n)] + rng.standard_normal((n, 384)).astype(np.float32) * 0.7
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    q = x[rng.integers(0, n, n_queries)] + rng.standard_normal((n_queries, 384)).astype(np.float32) * 0.03
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    ids = np.arange(n)
    flat = FaissVectorIndex.create(384, kind="flat").with_vectors(ids, x)
    start = time.perf_counter()
    hnsw = FaissVectorIndex.create(384, kind="hnsw").with_vectors(ids, x)
    build = time.perf_counter() - start
    search_k = 30  # what the knowledge base asks for
    flat_ms = _time_each(lambda i: flat.search(q[i : i + 1], search_k), n_queries)
    hnsw_ms = _time_each(lambda i: hnsw.search(q[i : i + 1], search_k), n_queries)
    _, exact = flat.search(q, k)
    _, approx = hnsw.search(q, search_k)
    recall = float(np.mean([len(set(e) & set(a)) / k for a, e in zip(approx, exact, strict=True)]))
    return {
        "vectors": n,
        "flat_ms": _pcts(flat_ms),
        "hnsw_ms": _pcts(hnsw_ms),
        "hnsw_recall_at_k": round(recall, 4),
        "hnsw_build_s": round(build, 1),
    }


def _subprocess(args: list[str]) -> dict[str, Any]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    done = subprocess.run(
        [sys.executable, "-m", "bench.kb_bench", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"worker {args} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _fmt(stats: dict[str, float] | None) -> str:
    return f"{stats['p50']:.2f} / {stats['p95']:.2f}" if stats else "-"


def _kept(row: dict[str, Any]) -> str:
    return " (earlier run)" if row.get("kept") else ""


def render(report: dict[str, Any]) -> str:
    """The Markdown report."""
    lines = [
        "# Knowledge-base benchmark",
        "",
        f"Machine: {report['machine']}. Load average at start: {report['load_average']}. "
        "Timings are wall-clock on a shared machine (other jobs were running). Threads as the server sets them: "
        "one OpenBLAS/OpenMP thread per call (app.limit_native_threads) and one ONNX Runtime thread per model "
        "call (ASSISTANT_EMBEDDING_THREADS); searches embed through the server's text cache, emptied before "
        "each measured phase.",
        "",
        "Synthetic FAQs are generated deterministically from the demo FAQ vocabulary (bench/kb_synthetic.py): "
        "0-3 alternative questions per entry, zh and en. Queries: 3 in 4 are perturbed FAQ questions "
        "(typos, homophones, pinyin, fillers), 1 in 4 generic out-of-scope. Rows marked (earlier run) were kept "
        "from the previous report (`--keep`): measured with the code of that time.",
        "",
        "## Build and memory",
        "",
        "Top-10 vs exact: with HNSW, the share of the top-10 entries a search given the same model outputs finds",
        "with exact dense retrieval (every stored vector compared, float16 as before 8-bit HNSW) that the",
        "knowledge base's own top 10 holds, over the bench queries (measured after the peak RSS).",
        "",
        "| entries | texts indexed | dense vectors | index | build (s) | of which embedding (s) | peak RSS (MB) | "
        "top-10 vs exact |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in report["sizes"]:
        vectors = "bundled model (ONNX)" if r["dense"] == "real" else "random unit vectors"
        lines.append(
            f"| {r['size']:,}{_kept(r)} | {r['texts']:,} | {vectors} | {r['index_kind']} | {r['build_s']} | "
            f"{r['build_embedding_s']} | {r['peak_rss_mb']} | {r.get('top10_recall_vs_exact', '-')} |"
        )
    lines += [
        "",
        "## Search latency (ms, p50 / p95, one query at a time)",
        "",
        "CPU time is the searching thread's own CPU; the wall-clock tail above it is time spent waiting for a core",
        "on the shared machine (load average at the time of the measurement in the last column).",
        "",
        "Query embedding: the model outputs of one query (`kb.query_vectors`: its text, its English gloss and the",
        "glosses of words the FAQ lacks, one model call), and the query text alone. Search excl. embedding: a",
        "search given all of them (no model call). Given text vector: the query's own vector given, its gloss and",
        "unseen words embedded during the search (the figure earlier rounds reported as excl. embedding).",
        "",
        "| entries | query embedding (all model outputs) | search excl. embedding | (its CPU time) | "
        "given text vector | end to end | end to end with context | batch of 32, q/s excl. embedding | "
        "batch of 32, q/s end to end | load avg |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in report["sizes"]:
        embedding = f"{_fmt(r.get('query_model_outputs_ms'))} (text alone {_fmt(r.get('embedding_one_query_ms'))})"
        lines.append(
            f"| {r['size']:,}{_kept(r)} | {embedding} | {_fmt(r['search_excl_embedding_ms'])} | "
            f"{_fmt(r.get('search_excl_embedding_cpu_ms'))} | {_fmt(r.get('search_given_text_vector_ms'))} | "
            f"{_fmt(r.get('search_end_to_end_ms'))} | "
            f"{_fmt(r.get('search_with_context_end_to_end_ms'))} | {r['batch_qps_excl_embedding']} | "
            f"{r.get('batch_qps_end_to_end', '-')} | {r.get('load_average', ['-'])[0]} |"
        )
    if report["ann"]:
        lines += [
            "",
            "## Exact flat vs HNSW (clustered 384-d unit vectors, top 30, one query, one thread)",
            "",
            "Recall: share of the exact 10 nearest neighbours found in HNSW's top 30 (what the KB retrieves).",
            "",
            "| vectors | flat p50 / p95 (ms) | HNSW p50 / p95 (ms) | HNSW recall 10@30 | HNSW build (s) |",
            "|---|---|---|---|---|",
        ]
        for a in report["ann"]:
            lines.append(
                f"| {a['vectors']:,}{_kept(a)} | {_fmt(a['flat_ms'])} | {_fmt(a['hnsw_ms'])} | "
                f"{a['hnsw_recall_at_k']} | {a['hnsw_build_s']} |"
            )
    return "\n".join(lines) + "\n"


def _keep_old_rows(report: dict[str, Any], old: dict[str, Any]) -> None:
    """Add the old report's rows for sizes and vector counts this run skipped, marked as kept."""
    done = {r["size"] for r in report["sizes"]}
    kept = [{**r, "kept": True} for r in old.get("sizes", []) if r["size"] not in done]
    for r in kept:
        if "search_given_text_vector_ms" not in r:  # reports before prepared vectors: that was the mixed figure
            r["search_given_text_vector_ms"] = r.pop("search_excl_embedding_ms")
            r.pop("search_excl_embedding_cpu_ms", None)
            r["search_excl_embedding_ms"] = None
    report["sizes"] = sorted(report["sizes"] + kept, key=lambda r: r["size"])
    done = {a["vectors"] for a in report["ann"]}
    report["ann"] = sorted(
        report["ann"] + [{**a, "kept": True} for a in old.get("ann", []) if a["vectors"] not in done],
        key=lambda a: a["vectors"],
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run every size in a subprocess and write the report."""
    parser = argparse.ArgumentParser(prog="python -m bench.kb_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="comma-separated entry counts")
    parser.add_argument("--dense", choices=("auto", "real", "random"), default="auto")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--ann", default="5000,20000,50000,100000", help="vector counts for flat vs HNSW ('' skips)")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument(
        "--keep", action="store_true", help="keep the rows of sizes and vector counts not run from the existing report"
    )
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--ann-worker", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker, args.dense, args.queries)))
        return 0
    if args.ann_worker:
        print(json.dumps(ann_worker(args.ann_worker)))
        return 0
    report: dict[str, Any] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "load_average": [round(v, 2) for v in os.getloadavg()],
        "sizes": [],
        "ann": [],
    }
    for size in (int(s) for s in args.sizes.split(",") if s):
        dense = args.dense if args.dense != "auto" else ("real" if size <= REAL_MAX else "random")
        print(f"size {size} ({dense} vectors)...", file=sys.stderr, flush=True)
        report["sizes"].append(_subprocess(["--worker", str(size), "--dense", dense, "--queries", str(args.queries)]))
    for n in (int(s) for s in args.ann.split(",") if s):
        print(f"flat vs HNSW at {n} vectors...", file=sys.stderr, flush=True)
        report["ann"].append(_subprocess(["--ann-worker", str(n)]))
    if args.keep and args.out.with_suffix(".json").exists():
        _keep_old_rows(report, json.loads(args.out.with_suffix(".json").read_text(encoding="utf-8")))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    markdown = render(report)
    args.out.with_suffix(".md").write_text(markdown, encoding="utf-8")
    print(markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
