"""Cost of the model calls a KB query makes: what is embedded, and per call / per text for each backend.

    python -m bench.embed_bench [--queries evals/data/kb_dev5_queries.csv ...] [--calls 400] [--parts memory,...]

Builds the demo KB once (fp32 ONNX), then records what each dev query hands the model through one shared text
cache, as the server does: the message, its English gloss and the glosses of words the FAQ lacks. It reports
tokens, model runs and padding per query, replays the recorded calls through fp32 and int8 sessions with one and
two intra-op threads (interleaved, so load swings hit each alike; wall and process CPU time), the CPU per text at
batch sizes 1/4/16/64, a fit of one run's CPU as a fixed part plus a part per padded token (what
`st_embedder.RUN_COST_TOKENS` encodes), the memory a second session costs, and how far int8 vectors are from
fp32 (and from themselves in another batch). Only dev query sets; the load average is printed beside every timing.
Writes bench/results/embed_bench.md and .json.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "results" / "embed_bench"
MODEL_CACHE = ROOT / "data" / "models"
PARTS = ("per_call", "per_batch", "run_cost", "memory")
DEV_QUERIES = [ROOT / "evals" / "data" / "kb_dev5_queries.csv", ROOT / "evals" / "data" / "kb_dev4_queries.csv"]


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
    return 0.0


def _pct(values: Sequence[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 2)


def record(queries: Sequence[str], model: Any) -> tuple[list[list[str]], dict[str, Any]]:
    """What each query sends to the model through one shared cache (texts of the call), and the cache's hit rate."""
    from assistant.embedding import CachingEmbedder, RecordingEmbedder
    from knowledge_base import build_knowledge_base, load_faq

    kb = build_knowledge_base(load_faq([ROOT / "demo" / "faq"]), CachingEmbedder(model, max_entries=200_000))
    recorder = RecordingEmbedder(model)
    shared = CachingEmbedder(recorder)
    kb._embedder = shared  # the search path as served, minus the batching wrapper (one query at a time)
    per_query: list[list[str]] = []
    for query in queries:
        start = len(recorder.calls)
        kb.search(query)
        per_query.append([t for call in recorder.calls[start:] for t in call])
    return per_query, {"cache_hits": shared.hits, "cache_misses": shared.misses}


def text_stats(queries: Sequence[str], calls: Sequence[Sequence[str]], tokenizer: Any) -> dict[str, Any]:
    """Texts, tokens, model runs and padding per query, by kind of text."""
    from assistant.st_embedder import RUN_COST_TOKENS, length_groups
    from knowledge_base.analysis import gloss

    kinds: dict[str, list[int]] = {"message": [], "gloss": [], "word gloss": []}
    runs: list[int] = []
    padded: list[int] = []
    real: list[int] = []
    one_run: list[int] = []
    words_runs: list[int] = []
    for query, texts in zip(queries, calls, strict=True):
        glossed = gloss(query)
        for text in texts:
            kind = "message" if text == query else "gloss" if text == glossed else "word gloss"
            kinds[kind].append(len(tokenizer.encode(text).ids))
        if not texts:  # everything came from the cache (or the gloss table): no model run
            for values in (runs, padded, real, one_run, words_runs):
                values.append(0)
            continue
        lengths = sorted(len(tokenizer.encode(t).ids) for t in texts)
        groups = length_groups(lengths)
        runs.append(len(groups))
        padded.append(sum((end - start) * lengths[end - 1] for start, end in groups))
        real.append(sum(lengths))
        one_run.append(len(lengths) * lengths[-1])
        without_words = sorted(len(tokenizer.encode(t).ids) for t in texts if t in (query, glossed))
        words_runs.append(len(length_groups(without_words)) if without_words else 0)
    n = len(queries)
    return {
        "queries": n,
        "texts_per_query": {k: round(len(v) / n, 2) for k, v in kinds.items()},
        "tokens_mean_p95": {k: [round(float(np.mean(v)), 1), _pct(v, 95)] for k, v in kinds.items() if v},
        "runs_per_query": round(float(np.mean(runs)), 2),
        "runs_per_query_without_word_glosses": round(float(np.mean(words_runs)), 2),
        "padded_tokens_per_query": round(float(np.mean(padded)), 1),
        "real_tokens_per_query": round(float(np.mean(real)), 1),
        "padded_tokens_in_one_run": round(float(np.mean(one_run)), 1),
        "run_cost_tokens": RUN_COST_TOKENS,
    }


def _session(quantize: bool, threads: int) -> Any:
    from assistant.st_embedder import OnnxEmbedder

    model = OnnxEmbedder(cache_dir=MODEL_CACHE, threads=threads, quantize=quantize)
    model.warm_up()
    return model


def per_call(calls: Sequence[Sequence[str]], table: frozenset[str] = frozenset()) -> list[dict[str, Any]]:
    """Replay the recorded calls through fp32/int8 x 1/2 threads, interleaved; wall and process CPU per call.

    A third thread count, 0, stands for one thread and the gloss table: the texts of `table` left out of each
    call (those served without a model run; both backends have a table of the same texts)."""
    configs = [(q, t) for q in (False, True) for t in (1, 2)] + [(False, 0), (True, 0)]
    models = {c: _session(c[0], c[1] or 1) for c in configs}
    wall: dict[tuple[bool, int], list[float]] = {c: [] for c in configs}
    cpu: dict[tuple[bool, int], list[float]] = {c: [] for c in configs}
    before = _load()
    for warm in (True, False):
        for texts in calls:
            for config, model in models.items():
                sent = [t for t in texts if t not in table] if config[1] == 0 else list(texts)
                w0, c0 = time.perf_counter(), time.process_time()
                if sent:
                    model.embed(sent)
                w1, c1 = time.perf_counter(), time.process_time()
                if not warm:
                    wall[config].append((w1 - w0) * 1e3)
                    cpu[config].append((c1 - c0) * 1e3)
    after = _load()
    return [
        {
            "backend": ("onnx-int8" if q else "onnx") + ("" if t else " + gloss table"),
            "threads": t or 1,
            "wall_p50": _pct(wall[(q, t)], 50),
            "wall_p95": _pct(wall[(q, t)], 95),
            "cpu_p50": _pct(cpu[(q, t)], 50),
            "cpu_p95": _pct(cpu[(q, t)], 95),
            "cpu_mean": round(float(np.mean(cpu[(q, t)])), 2),
            "load": f"{before} → {after}",
        }
        for q, t in configs
    ]


def gloss_table(model: Any) -> frozenset[str]:
    """The texts the served model takes from its precomputed gloss table (built on first use; the same texts
    for every model)."""
    from assistant.gloss_vectors import DEFAULT_WORDS, PrecomputedEmbedder

    table = PrecomputedEmbedder(model, model.onnx_path.parent, DEFAULT_WORDS)
    table.warm_up()
    return frozenset(table.texts)


def per_batch(texts: Sequence[str]) -> list[dict[str, Any]]:
    """CPU per text at batch sizes 1/4/16/64 of the recorded texts (one thread)."""
    rng = np.random.default_rng(0)
    rows = []
    models = {q: _session(q, 1) for q in (False, True)}
    for size in (1, 4, 16, 64):
        batches = [list(rng.choice(np.array(texts, dtype=object), size)) for _ in range(max(4, 320 // size))]
        row: dict[str, Any] = {"batch": size, "load": _load()}
        for q, model in models.items():
            model.embed(batches[0])
            c0 = time.process_time()
            for batch in batches:
                model.embed(batch)
            per_text = (time.process_time() - c0) / (size * len(batches)) * 1e3
            row["int8" if q else "fp32"] = round(per_text, 2)
        rows.append(row)
    return rows


def run_cost() -> dict[str, Any]:
    """Least-squares fit of one model run's CPU: a fixed part plus a part per padded token (one thread)."""
    words = ["refund", "course", "invoice", "membership", "download", "video", "stop", "block", "account"]
    words += ["login", "password", "coupon"]
    out: dict[str, Any] = {"load": _load()}
    for q in (False, True):
        model = _session(q, 1)
        xs, ys = [], []
        for size in (1, 2, 4, 8):
            for length in (3, 6, 10, 16, 24, 32):
                encodings = model._tokenizer.encode_batch([" ".join((words * 4)[: length - 2])] * size)
                model._run(encodings)
                c0 = time.process_time()
                for _ in range(6):
                    model._run(encodings)
                xs.append(size * len(encodings[0].ids))
                ys.append((time.process_time() - c0) / 6 * 1e3)
        (fixed, per_token), *_ = np.linalg.lstsq(np.vstack([np.ones(len(xs)), xs]).T, np.array(ys), rcond=None)
        out["int8" if q else "fp32"] = {
            "run_ms": round(float(fixed), 2),
            "token_ms": round(float(per_token), 3),
            "run_in_tokens": round(float(fixed / per_token), 1),
        }
    return out


def session_memory(backend: str) -> dict[str, int]:
    """RSS (MB) a first and a second session of a backend add, in a fresh process so nothing else is loaded."""
    code = (
        "import json; from bench.embed_bench import _rss_mb, _session; "
        f"q = {backend == 'onnx-int8'}; a = _rss_mb(); s1 = _session(q, 1); s1.embed(['a warm-up text'] * 16); "
        "b = _rss_mb(); s2 = _session(q, 2); s2.embed(['a warm-up text'] * 16); "
        "print(json.dumps({'first_session_mb': round(b - a), 'second_session_mb': round(_rss_mb() - b)}))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    result: dict[str, int] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def memory_and_drift(texts: Sequence[str]) -> dict[str, Any]:
    """Memory of a first and a second session per backend; int8 vectors against fp32 and against themselves alone."""
    out: dict[str, Any] = {}
    vectors: dict[bool, np.ndarray] = {}
    for q in (False, True):
        key = "int8" if q else "fp32"
        for name, value in session_memory("onnx-int8" if q else "onnx").items():
            out[f"{key}_{name}"] = value
        model = _session(q, 1)
        sample = list(texts[:200])
        vectors[q] = model.embed(sample)
        alone = np.vstack([model.embed([t]) for t in sample])
        out[f"{key}_alone_vs_batched_max_abs"] = float(f"{np.abs(alone - vectors[q]).max():.2e}")
    cosines = (vectors[True] * vectors[False]).sum(axis=1)
    out["int8_cosine_to_fp32_mean_p5_min"] = [
        round(float(v), 4) for v in (cosines.mean(), *np.percentile(cosines, [5, 0]))
    ]
    return out


def render(result: dict[str, Any]) -> str:
    """The report as markdown."""
    s, g = result["texts"], result["gloss_table"]
    lines = [
        "# Model calls per KB query",
        "",
        f"`python -m bench.embed_bench` on {result['machine']}; queries: {', '.join(result['queries'])}. "
        "Process CPU time per call counts ONNX Runtime's own threads too; wall-clock on this shared machine "
        "is dominated by waiting for a core (load average beside each row).",
        "",
        "## What a query embeds (one shared text cache, as served)",
        "",
        f"Per query: {s['texts_per_query']} texts; tokens (mean, p95) {s['tokens_mean_p95']}; "
        f"{s['runs_per_query']} model runs ({s['runs_per_query_without_word_glosses']} without the word glosses); "
        f"{s['padded_tokens_per_query']} padded tokens for {s['real_tokens_per_query']} real ones "
        f"({s['padded_tokens_in_one_run']} if they ran as one); the cache served "
        f"{result['cache']['cache_hits']} of {result['cache']['cache_hits'] + result['cache']['cache_misses']} texts.",
        "",
        f"With the precomputed gloss table ({g['texts']} common words' glosses, "
        f"`assistant/gloss_vectors.py`) serving {g['served_per_query']} texts per query, the model sees "
        f"{g['texts_per_query']} texts per query in {g['runs_per_query']} model runs, {g['padded_tokens_per_query']} "
        f"padded tokens for {g['real_tokens_per_query']} real ones (the `+ gloss table` rows replay these).",
        "",
        "## One query's model call (ms)",
        "",
        "| backend | threads | wall p50 / p95 | CPU p50 / p95 | CPU mean | load |",
        "|---|---|---|---|---|---|",
    ]
    for r in result["per_call"]:
        lines.append(
            f"| {r['backend']} | {r['threads']} | {r['wall_p50']} / {r['wall_p95']} | {r['cpu_p50']} / "
            f"{r['cpu_p95']} | {r['cpu_mean']} | {r['load']} |"
        )
    lines += [
        "",
        "## CPU per text by batch size (ms, one thread)",
        "",
        "| batch | fp32 | int8 | load |",
        "|---|---|---|---|",
    ]
    lines += [f"| {r['batch']} | {r['fp32']} | {r['int8']} | {r['load']} |" for r in result["per_batch"]]
    c = result["run_cost"]
    lines += [
        "",
        "## One run's CPU = fixed part + part per padded token (one thread)",
        "",
        f"fp32 {c['fp32']['run_ms']} ms + {c['fp32']['token_ms']} ms/token (a run costs "
        f"{c['fp32']['run_in_tokens']} tokens); int8 {c['int8']['run_ms']} ms + {c['int8']['token_ms']} ms/token "
        f"({c['int8']['run_in_tokens']} tokens); load {c['load']}.",
        "",
        "## Memory and int8 drift",
        "",
        f"{json.dumps(result['memory_and_drift'])}",
        "",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run everything and write bench/results/embed_bench.{md,json}."""
    parser = argparse.ArgumentParser(prog="python -m bench.embed_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--queries", nargs="+", type=Path, default=DEV_QUERIES, help="dev query CSVs (column query)")
    parser.add_argument("--calls", type=int, default=400, help="recorded calls to replay per configuration")
    parser.add_argument("--parts", default=",".join(PARTS), help=f"re-run only these of {','.join(PARTS)}")
    args = parser.parse_args(argv)
    parts = {p.strip() for p in args.parts.split(",") if p.strip()}
    queries: list[str] = []
    for path in args.queries:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            queries += [r["query"].strip() for r in csv.DictReader(handle) if (r.get("query") or "").strip()]
    model = _session(False, 1)
    calls, cache = record(queries, model)
    texts = [t for call in calls for t in call]
    table = gloss_table(model)
    served = [[t for t in call if t not in table] for call in calls]
    previous = OUT.with_suffix(".json")
    result: dict[str, Any] = json.loads(previous.read_text(encoding="utf-8")) if previous.exists() else {}
    result |= {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "queries": [p.name for p in args.queries],
        "cache": cache,
        "texts": text_stats(queries, calls, model._tokenizer),
        "gloss_table": {
            "texts": len(table),
            "served_per_query": round((len(texts) - sum(map(len, served))) / len(queries), 2),
            **text_stats(queries, served, model._tokenizer),
        },
    }
    if "per_call" in parts:
        result["per_call"] = per_call([c for c in calls if c][: args.calls], table)
    if "per_batch" in parts:
        result["per_batch"] = per_batch(texts)
    if "run_cost" in parts:
        result["run_cost"] = run_cost()
    if "memory" in parts:
        result["memory_and_drift"] = memory_and_drift(list(dict.fromkeys(texts)))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.with_suffix(".json").write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    OUT.with_suffix(".md").write_text(render(result), encoding="utf-8")
    print(render(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
