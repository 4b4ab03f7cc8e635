"""Per-turn latency through HTTP (no LLM) with 1 and with 64 concurrent conversations, and turns/s.

`python -m bench.turn_bench [--data-dir DIR] [--turns 200] [--concurrency 64] [--workers 1]`

The server runs as a separate process (`python app.py`, SQLite store), so client and server do not share a GIL.
Beside it, the same run measures the bare cost of one query embedding and one KB search in-process.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
QUERIES = ROOT / "evals" / "data" / "kb_queries.csv"
RESULTS = ROOT / "bench" / "results"


ERRORS: list[int] = []


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def _texts() -> list[str]:
    with QUERIES.open(encoding="utf-8") as handle:
        return [row["query"] for row in csv.DictReader(handle)]


async def _conversation(client: httpx.AsyncClient, texts: list[str], turns: int, latencies: list[float]) -> None:
    started = await client.post("/v1/conversations")
    conv = started.json()
    headers = {"Authorization": f"Bearer {conv['token']}"}
    url = f"/v1/conversations/{conv['conversation_id']}/messages"
    for i in range(turns):
        t0 = time.perf_counter()
        try:
            response = await client.post(url, json={"text": texts[i % len(texts)]}, headers=headers)
        except httpx.TransportError:
            # A pooled keep-alive connection the server closed meanwhile: count it and go on with a fresh one.
            ERRORS.append(1)
            continue
        latencies.append((time.perf_counter() - t0) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"turn failed: {response.status_code} {response.text[:200]}")


async def _run(base: str, conversations: int, turns_each: int, texts: list[str]) -> dict[str, float]:
    latencies: list[float] = []
    limits = httpx.Limits(max_connections=conversations + 4)
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as client:
        t0 = time.perf_counter()
        await asyncio.gather(
            *(
                _conversation(client, texts[k * 7 :] + texts[: k * 7], turns_each, latencies)
                for k in range(conversations)
            )
        )
        elapsed = time.perf_counter() - t0
    return {
        "conversations": conversations,
        "turns": len(latencies),
        "p50_ms": round(statistics.median(latencies), 2),
        "p95_ms": round(_pct(latencies, 0.95), 2),
        "p99_ms": round(_pct(latencies, 0.99), 2),
        "turns_per_s": round(len(latencies) / elapsed, 1),
        "transport_errors": len(ERRORS),
    }


def _bare_costs(data_dir: Path, texts: list[str]) -> dict[str, float]:
    """One query embedding and one KB search (vector given), in this process, for comparison."""
    from assistant.settings import Settings
    from assistant.st_embedder import load_embedder
    from knowledge_base.snapshots import SnapshotManager

    settings = Settings(data_dir=data_dir)
    embedder = load_embedder(settings.embedding_model, settings.embedding_backend, cache_dir=settings.model_cache_dir)
    kb = SnapshotManager(settings.kb_dir, embedder).current
    embed_ms, search_ms = [], []
    for text in texts[:200]:
        t0 = time.perf_counter()
        vector = embedder.embed([text])[0]
        t1 = time.perf_counter()
        kb.search(text, vector=vector)
        t2 = time.perf_counter()
        embed_ms.append((t1 - t0) * 1000)
        search_ms.append((t2 - t1) * 1000)
    return {
        "embed_p50_ms": round(statistics.median(embed_ms), 2),
        "embed_p95_ms": round(_pct(embed_ms, 0.95), 2),
        "search_p50_ms": round(statistics.median(search_ms), 2),
        "search_p95_ms": round(_pct(search_ms, 0.95), 2),
    }


def main(argv: list[str] | None = None) -> int:
    """Start the server, measure, write bench/results/turn_bench.{md,json}."""
    parser = argparse.ArgumentParser(prog="python -m bench.turn_bench", description=__doc__)
    parser.add_argument("--data-dir", type=Path, help="a prepared data dir (default: a temporary one, built first)")
    parser.add_argument("--turns", type=int, default=200, help="turns of the single conversation")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--turns-each", type=int, default=10, help="turns per concurrent conversation")
    args = parser.parse_args(argv)
    from evals.server import free_port, serve_process, server_env

    texts = _texts()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = args.data_dir or Path(tmp)
        env = server_env(
            data_dir,
            Path(tmp) / "bench.db",
            free_port(),
            rate_limit_user_per_minute="1000000",
            rate_limit_ip_per_minute="1000000",
        )
        with serve_process(env) as base:
            asyncio.run(_run(base, 4, 5, texts))  # warm-up
            single = asyncio.run(_run(base, 1, args.turns, texts))
            concurrent = asyncio.run(_run(base, args.concurrency, args.turns_each, texts))
        bare = _bare_costs(data_dir, texts)
    result = {
        "single": single,
        "concurrent": concurrent,
        "bare": bare,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "turn_bench.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    lines = [
        "# Per-turn latency through HTTP (no LLM)",
        "",
        f"`python -m bench.turn_bench` on {result['machine']}; "
        "server `python app.py` (SQLite store) in its own process.",
        "",
        "| conversations | turns | p50 ms | p95 ms | p99 ms | turns/s |",
        "|---|---|---|---|---|---|",
    ]
    for row in (single, concurrent):
        cells = [row[k] for k in ("conversations", "turns", "p50_ms", "p95_ms", "p99_ms", "turns_per_s")]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    lines += [
        "",
        f"Bare costs in the same run: one query embedding p50 {bare['embed_p50_ms']} ms / "
        f"p95 {bare['embed_p95_ms']} ms; one KB search (embedding excluded) "
        f"p50 {bare['search_p50_ms']} ms / p95 {bare['search_p95_ms']} ms.",
    ]
    (RESULTS / "turn_bench.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
