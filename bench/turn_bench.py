"""Per-turn latency through HTTP (no LLM) with 1 and with 64 concurrent conversations, and turns/s.

`python -m bench.turn_bench [--data-dir DIR] [--turns 200] [--concurrency 64] [--turns-each 10] [--workers N]
[--store sqlite|redis] [--backend onnx|onnx-int8]`

The server runs as a separate process (`python app.py`), so client and server do not share a GIL. Every turn of a
run sends a text the server has not seen before (the dev-set queries in varied phrasings), so the server's
embedding cache cannot make turns free: the report gives the cache hit rate the server counted (what hits remain
are a follow-up's previous question, read again as its context) and the mean embedding batch size. It also gives
the server's (and this client's) CPU time per turn, steadier than wall-clock time on a shared machine, and the
load average. A conversation handed to an advisor is replaced by a new one, so every measured turn is a bot turn.
Beside it, the same run measures the bare cost of one query embedding and one KB search in-process, and where a
turn's CPU goes (model, KB, intents, store, live events, the rest) over the same kind of turns without HTTP.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import gc
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.http_client import HttpError, JsonConnection

ROOT = Path(__file__).resolve().parent.parent
# Dev sets only: the held-out test queries stay out of anything a change is measured (and tuned) on.
QUERIES = (ROOT / "evals" / "data" / "kb_dev_queries.csv", ROOT / "evals" / "data" / "kb_dev2_queries.csv")
RESULTS = ROOT / "bench" / "results"
# Ways people open and close the same question; each round of the texts uses the next frame.
_OPENERS = ("", "请问", "想问一下，", "麻烦问下", "你好，请问", "咨询一下：")
_CLOSERS = ("", "？", "呢", "。", "，谢谢", "，急")


def base_texts(paths: Sequence[Path] = QUERIES) -> list[str]:
    """The query texts of the dev sets, each once, in file order."""
    texts: list[str] = []
    for path in paths:
        with path.open(encoding="utf-8") as handle:
            texts.extend(row["query"].strip() for row in csv.DictReader(handle))
    return list(dict.fromkeys(t for t in texts if t))


def distinct_texts(base: Sequence[str]) -> Iterator[str]:
    """Endless user texts, never the same twice: round r sends every base text in the r-th phrasing."""
    seen: set[str] = set()
    frames = [(opener, closer) for closer in _CLOSERS for opener in _OPENERS]
    rounds = 0
    while True:
        opener, closer = frames[rounds % len(frames)]
        tag = f" #{rounds // len(frames)}" if rounds >= len(frames) else ""
        for text in base:
            variant = f"{opener}{text.rstrip('?？。')}{closer}{tag}"
            if variant not in seen:
                seen.add(variant)
                yield variant
        rounds += 1


@dataclass
class ServerCounters:
    """What the server's /metrics said, summed over its worker processes."""

    cache_hits: float = 0.0
    cache_misses: float = 0.0
    batches: float = 0.0
    batched_texts: float = 0.0

    def minus(self, earlier: ServerCounters) -> ServerCounters:
        """The change since an earlier reading."""
        return ServerCounters(
            self.cache_hits - earlier.cache_hits,
            self.cache_misses - earlier.cache_misses,
            self.batches - earlier.batches,
            self.batched_texts - earlier.batched_texts,
        )


def parse_counters(exposition: str) -> tuple[str, ServerCounters]:
    """The answering worker's pid and its embedding counters, from a Prometheus text exposition."""
    from prometheus_client.parser import text_string_to_metric_families

    pid = ""
    counters = ServerCounters()
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            if sample.name == "assistant_worker_info":
                pid = sample.labels["pid"]
            elif sample.name == "assistant_embedding_cache_lookups_total":
                if sample.labels.get("result") == "hit":
                    counters.cache_hits = sample.value
                else:
                    counters.cache_misses = sample.value
            elif sample.name == "assistant_embedding_batches_total":
                counters.batches = sample.value
            elif sample.name == "assistant_embedding_batched_texts_total":
                counters.batched_texts = sample.value
    return pid, counters


def read_counters(base: str, workers: int) -> dict[str, ServerCounters]:
    """Each worker's counters, by pid: /metrics scraped on fresh connections until every worker answered once."""
    by_pid: dict[str, ServerCounters] = {}
    for _ in range(100 * workers):
        with httpx.Client(base_url=base, timeout=30) as client:  # a new connection may reach another worker
            pid, counters = parse_counters(client.get("/metrics").text)
        by_pid[pid] = counters
        if len(by_pid) >= workers:
            break
        time.sleep(0.01)  # the kernel tends to hand a burst of connections to the same worker
    return by_pid


def counters_since(before: dict[str, ServerCounters], after: dict[str, ServerCounters]) -> ServerCounters:
    """The change of the counters summed over the workers read both times."""
    total = ServerCounters()
    for pid in before.keys() & after.keys():
        delta = after[pid].minus(before[pid])
        total = ServerCounters(
            total.cache_hits + delta.cache_hits,
            total.cache_misses + delta.cache_misses,
            total.batches + delta.batches,
            total.batched_texts + delta.batched_texts,
        )
    return total


@dataclass
class Phase:
    """Latencies and transport errors of one measured phase."""

    latencies: list[float] = field(default_factory=list)
    transport_errors: int = 0
    actions: dict[str, int] = field(default_factory=dict)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


async def _start(connection: JsonConnection) -> tuple[str, dict[str, str]]:
    status, conv = await connection.request("POST", "/v1/conversations")
    if status != 201:
        raise RuntimeError(f"could not start a conversation: {status} {conv}")
    return f"/v1/conversations/{conv['conversation_id']}/messages", {"Authorization": f"Bearer {conv['token']}"}


async def _user(base: str, texts: Iterator[str], turns: int, phase: Phase) -> None:
    """One user sending `turns` texts over one kept-alive connection; a conversation handed to an advisor is left
    for a new one, so every measured turn is answered by the bot (a relayed message costs far less)."""
    connection = JsonConnection(base)
    try:
        url, headers = await _start(connection)
        for _ in range(turns):
            text = next(texts)
            t0 = time.perf_counter()
            try:
                status, body = await connection.request("POST", url, {"text": text}, headers)
            except HttpError:
                phase.transport_errors += 1  # counted; the next turn reconnects
                continue
            phase.latencies.append((time.perf_counter() - t0) * 1000)
            if status != 200:
                raise RuntimeError(f"turn failed: {status} {body}")
            phase.actions[body["action"]] = phase.actions.get(body["action"], 0) + 1
            if body["action"] in ("handoff", "relay"):
                url, headers = await _start(connection)
    finally:
        await connection.close()


async def _drive(base: str, conversations: int, turns_each: int, texts: Iterator[str]) -> tuple[Phase, float]:
    phase = Phase()
    t0 = time.perf_counter()
    await asyncio.gather(*(_user(base, texts, turns_each, phase) for _ in range(conversations)))
    return phase, time.perf_counter() - t0


def measure(server: Any, conversations: int, turns_each: int, texts: Iterator[str], workers: int) -> dict[str, Any]:
    """Run one phase against a running server and summarise it (latency, throughput, server CPU and cache)."""
    before, cpu_before = read_counters(server.base, workers), server.cpu_seconds()
    load_before, client_before = os.getloadavg()[0], time.process_time()
    phase, elapsed = asyncio.run(_drive(server.base, conversations, turns_each, texts))
    cpu, client_cpu = server.cpu_seconds() - cpu_before, time.process_time() - client_before
    after = read_counters(server.base, workers)
    delta = counters_since(before, after)
    turns = len(phase.latencies)
    lookups = delta.cache_hits + delta.cache_misses
    return {
        "conversations": conversations,
        "turns": turns,
        "p50_ms": round(statistics.median(phase.latencies), 2),
        "p95_ms": round(_pct(phase.latencies, 0.95), 2),
        "p99_ms": round(_pct(phase.latencies, 0.99), 2),
        "turns_per_s": round(turns / elapsed, 1),
        # Server CPU includes starting the conversations (one per user, and one after each handoff).
        "server_cpu_ms_per_turn": round(cpu * 1000 / max(turns, 1), 2),
        # The HTTP client shares the machine: on 2 cores, turns/s cannot exceed 2000 / (server + client ms).
        "client_cpu_ms_per_turn": round(client_cpu * 1000 / max(turns, 1), 2),
        "cache_hit_rate": round(delta.cache_hits / lookups, 3) if lookups else 0.0,
        "embedded_texts": int(delta.batched_texts),
        "mean_batch": round(delta.batched_texts / delta.batches, 2) if delta.batches else 0.0,
        "workers_counted": len(before.keys() & after.keys()),  # cache and batch figures cover these workers
        "transport_errors": phase.transport_errors,
        "actions": dict(sorted(phase.actions.items())),
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }


def _bare_costs(data_dir: Path, backend: str, texts: Iterator[str]) -> dict[str, float]:
    """One query embedding and one KB search (vector given), in this process, for comparison."""
    from assistant.settings import Settings
    from assistant.st_embedder import load_embedder
    from knowledge_base.snapshots import SnapshotManager

    settings = Settings(data_dir=data_dir, embedding_backend=backend)
    embedder = load_embedder(
        settings.embedding_model,
        settings.embedding_backend,
        cache_dir=settings.model_cache_dir,
        threads=settings.embedding_threads,
    )
    kb = SnapshotManager(settings.kb_dir, embedder).current
    embed_ms, search_ms = [], []
    for _ in range(200):
        text = next(texts)
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


class CpuSplit:
    """Thread CPU time by component, each call's time charged to the innermost component it ran in."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._stack: list[list[Any]] = []  # [component, CPU time when it last became the innermost]

    def wrap(self, owner: Any, method: str, component: str) -> None:
        """Charge every call of `owner.method` (an instance attribute from now on) to `component`."""
        inner = getattr(owner, method)

        def timed(*args: Any, **kwargs: Any) -> Any:
            now = time.thread_time()
            if self._stack:
                self._charge(self._stack[-1], now)
            self._stack.append([component, now])
            try:
                return inner(*args, **kwargs)
            finally:
                done = time.thread_time()
                self._charge(self._stack.pop(), done)
                if self._stack:
                    self._stack[-1][1] = done

        setattr(owner, method, timed)

    def _charge(self, frame: list[Any], now: float) -> None:
        self.seconds[frame[0]] = self.seconds.get(frame[0], 0.0) + now - frame[1]


# Components of a turn, in the order reported; "other" is what `ChatService.post` spends outside them.
SPLIT = ("model", "kb", "intents", "store", "live events", "other")
TAIL_SHARE = 0.1  # the slowest tenth of the in-process turns is compared with the rest


@dataclass(frozen=True)
class TurnCost:
    """One in-process turn: its thread CPU, each component's part of it, and what it asked of the model and KB."""

    cpu_ms: float
    components: dict[str, float]
    model_texts: int  # texts the model itself embedded (neither cached nor in the gloss table)
    kb_queries: int  # queries the knowledge base scored (a batched search counts each of its queries)
    gc_ms: float  # the cycle collector's pauses within the turn
    action: str


def tail_summary(turns: Sequence[TurnCost], share: float = TAIL_SHARE) -> dict[str, Any]:
    """Per-turn CPU percentiles, and what the slowest `share` of the turns spend and do against the rest."""
    cpu = [t.cpu_ms for t in turns]
    ranked = sorted(turns, key=lambda t: t.cpu_ms, reverse=True)
    cut = max(1, round(len(ranked) * share)) if ranked else 0
    return {
        "turns": len(turns),
        "cpu_ms": {
            "mean": round(statistics.fmean(cpu), 2) if cpu else 0.0,
            **{f"p{round(q * 100)}": round(_pct(cpu, q), 2) for q in (0.5, 0.9, 0.95, 0.99)},
        },
        "share": share,
        "slowest": _group_costs(ranked[:cut]),
        "rest": _group_costs(ranked[cut:]),
    }


def _group_costs(turns: Sequence[TurnCost]) -> dict[str, Any]:
    """Means per turn of a group of turns (zeros for none), and its actions."""
    n = max(len(turns), 1)
    actions: dict[str, int] = {}
    for turn in turns:
        actions[turn.action] = actions.get(turn.action, 0) + 1
    return {
        "turns": len(turns),
        "cpu_ms": round(sum(t.cpu_ms for t in turns) / n, 2),
        "components": {name: round(sum(t.components.get(name, 0.0) for t in turns) / n, 2) for name in SPLIT},
        "model_texts": round(sum(t.model_texts for t in turns) / n, 2),
        "kb_queries": round(sum(t.kb_queries for t in turns) / n, 2),
        "gc_ms": round(sum(t.gc_ms for t in turns) / n, 2),
        "actions": dict(sorted(actions.items())),
    }


def _turn_split(
    data_dir: Path, backend: str, texts: Iterator[str], workers: int, turns: int
) -> tuple[dict[str, float], dict[str, Any]]:
    """Where a turn's CPU goes: `turns` turns of one conversation through `ChatService` in this process (no HTTP),
    on the server's own components, each call timed in thread CPU and charged to the innermost component; and
    the same per turn, to see what the slowest turns do (`tail_summary`)."""
    from api.runtime import Overrides, build_runtime, load_heavy
    from assistant.auth import UserIdentity
    from assistant.settings import Settings

    costs: list[TurnCost] = []
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            data_dir=data_dir,
            embedding_backend=backend,
            store_url=f"sqlite:///{Path(tmp) / 'split.db'}",
            rate_limit_user_per_minute=1_000_000,
            log_json=False,
        )
        runtime = build_runtime(settings, Overrides(), processes=workers)  # workers > 1: the cross-process bus
        pauses = _GcPauses()
        try:
            load_heavy(runtime)
            if runtime.startup_error:
                raise RuntimeError(runtime.startup_error)
            chat = runtime.components["services"].chat
            content = runtime.components["content"]
            counts = {"model_texts": 0, "kb_queries": 0}
            _tally(_innermost(runtime.embedder), "embed", counts, "model_texts", lambda texts: len(texts))
            _tally(content.kb, "search", counts, "kb_queries", lambda *_, **__: 1)
            _tally(content.kb, "search_batch", counts, "kb_queries", lambda queries, **_: len(queries))
            split = CpuSplit()
            split.wrap(runtime.embedder, "embed", "model")
            for method in ("search", "search_batch", "query_vectors", "get"):
                split.wrap(content.kb, method, "kb")
            split.wrap(content.intents, "predict", "intents")
            for method in _STORE_METHODS:
                split.wrap(chat.store, method, "store")
            split.wrap(chat.bus, "publish", "live events")
            split.wrap(chat, "post", "other")

            def start() -> str:
                return str(chat.start(UserIdentity(id=f"bench-{time.time_ns()}"), channel="web").id)

            conversation = start()
            gc.callbacks.append(pauses)
            while len(costs) < turns:
                seconds, tallied, paused = dict(split.seconds), dict(counts), pauses.seconds
                cpu = time.thread_time()
                outcome = chat.post(conversation, text=next(texts))
                cpu = time.thread_time() - cpu
                costs.append(
                    TurnCost(
                        cpu_ms=cpu * 1000,
                        components={k: (v - seconds.get(k, 0.0)) * 1000 for k, v in split.seconds.items()},
                        model_texts=counts["model_texts"] - tallied["model_texts"],
                        kb_queries=counts["kb_queries"] - tallied["kb_queries"],
                        gc_ms=(pauses.seconds - paused) * 1000,
                        action=outcome.action,
                    )
                )
                if outcome.action in ("handoff", "relay"):
                    conversation = start()  # as over HTTP: every turn a bot turn
            totals = {name: round(split.seconds.get(name, 0.0) * 1000 / turns, 2) for name in SPLIT}
        finally:
            if pauses in gc.callbacks:
                gc.callbacks.remove(pauses)
            runtime.close()
    return totals, tail_summary(costs)


def _innermost(embedder: Any) -> Any:
    """The model under the cache, batching and gloss-table wrappers: what it embeds, it runs."""
    while getattr(embedder, "inner", None) is not None:
        embedder = embedder.inner
    return embedder


def _tally(owner: Any, method: str, counts: dict[str, int], key: str, size: Callable[..., int]) -> None:
    """Add `size(*args, **kwargs)` to `counts[key]` on every call of `owner.method` (an instance attribute now)."""
    inner = getattr(owner, method)

    def counted(*args: Any, **kwargs: Any) -> Any:
        counts[key] += size(*args, **kwargs)
        return inner(*args, **kwargs)

    setattr(owner, method, counted)


class _GcPauses:
    """A `gc.callbacks` entry adding up the cycle collector's pauses in the thread that created it."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._thread = threading.get_ident()
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if threading.get_ident() != self._thread:
            return
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._started


_STORE_METHODS = (
    "get",
    "put",
    "update_if",
    "append_message",
    "list_messages",
    "append_events",
    "set_once",
    "delete_key",
    "hit",
    "write_group",
)


@contextmanager
def _store_url(kind: str, tmp: Path) -> Iterator[str]:
    """A fresh store for the run: an SQLite file, or a redis-server of our own on a free port."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp / 'bench.db'}"
        return
    from evals.server import free_port

    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("--store redis needs redis-server on the PATH")
    port = free_port()
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(tmp), "--save", ""]
    redis = subprocess.Popen([*args, "--appendonly", "yes"], stdout=subprocess.DEVNULL)
    try:
        _wait_for_redis(port)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        redis.terminate()
        redis.wait(timeout=10)


def _wait_for_redis(port: int) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("redis-server did not start")


def render(result: dict[str, Any]) -> str:
    """The markdown report."""
    single, concurrent, bare, split = result["single"], result["concurrent"], result["bare"], result["split"]
    lines = [
        "# Per-turn latency through HTTP (no LLM)",
        "",
        f"`{result['command']}` on {result['machine']}; server `python app.py` ({result['store']} store, "
        f"{result['backend']} embeddings, "
        f"{result['workers']} worker{'s' if result['workers'] > 1 else ''}) in its own process. Every turn sends "
        "a text the server has not seen before; load average (1 min) before → after each phase.",
        "",
        "| conversations | turns | p50 ms | p95 ms | p99 ms | turns/s | server CPU ms/turn | client CPU ms/turn | "
        "cache hits | mean batch | load |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in (single, concurrent):
        cells = [row[k] for k in ("conversations", "turns", "p50_ms", "p95_ms", "p99_ms", "turns_per_s")]
        cells += [
            row["server_cpu_ms_per_turn"],
            row["client_cpu_ms_per_turn"],
            f"{row['cache_hit_rate']:.1%}",
            row["mean_batch"],
            " → ".join(str(v) for v in row["load_average"]),
        ]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    lines += [
        "",
        f"Bare costs in the same run: one query embedding p50 {bare['embed_p50_ms']} ms / "
        f"p95 {bare['embed_p95_ms']} ms; one KB search (embedding excluded) "
        f"p50 {bare['search_p50_ms']} ms / p95 {bare['search_p95_ms']} ms.",
        "",
        *render_split(split, result["tail"], result["split_turns"]),
        "",
        "The server's CPU per turn beyond the in-process total is HTTP (uvicorn, FastAPI, authorisation and the "
        "per-IP limit), starting conversations, and its other threads.",
    ]
    return "\n".join(lines) + "\n"


def render_split(split: dict[str, float], tail: dict[str, Any], turns: int) -> list[str]:
    """The in-process part of the report: CPU per turn by component, and the slowest turns against the rest."""
    cpu = tail["cpu_ms"]
    groups = (("slowest", tail["slowest"]), ("rest", tail["rest"]))
    lines = [
        f"Where a turn's CPU goes, in-process (`ChatService`, no HTTP, {turns} turns of one conversation on the "
        "server's components, thread CPU ms per turn; each call is charged to the innermost component, so the KB's "
        "figure excludes the model calls it makes):",
        "",
        "| " + " | ".join(SPLIT) + " | total |",
        "|" + "---|" * (len(SPLIT) + 1),
        "| " + " | ".join(str(split[name]) for name in SPLIT) + f" | {round(sum(split.values()), 2)} |",
        "",
        f"Thread CPU of each turn: mean {cpu['mean']}, p50 {cpu['p50']}, p90 {cpu['p90']}, p95 {cpu['p95']}, "
        f"p99 {cpu['p99']} ms. The slowest {tail['share']:.0%} of the turns against the rest (means per turn; model "
        "texts: what the model itself embedded, neither cached nor from the gloss table; KB queries: every query "
        "of a batched search counts):",
        "",
        "| turns | CPU ms | " + " | ".join(SPLIT) + " | model texts | KB queries | GC ms | actions |",
        "|" + "---|" * (len(SPLIT) + 6),
    ]
    for name, group in groups:
        cells = [f"{name} {group['turns']}", group["cpu_ms"], *(group["components"][c] for c in SPLIT)]
        cells += [group["model_texts"], group["kb_queries"], group["gc_ms"]]
        cells.append(", ".join(f"{action} {count}" for action, count in group["actions"].items()))
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return lines


def main(argv: list[str] | None = None) -> int:
    """Start the server, measure, write bench/results/turn_bench.{md,json}."""
    parser = argparse.ArgumentParser(prog="python -m bench.turn_bench", description=__doc__)
    parser.add_argument("--data-dir", type=Path, help="a prepared data dir (default: a temporary one, built first)")
    parser.add_argument("--turns", type=int, default=200, help="turns of the single conversation")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--turns-each", type=int, default=10, help="turns per concurrent conversation")
    from assistant.settings import Settings

    default_workers = Settings.model_fields["workers"].default
    parser.add_argument(
        "--workers",
        type=int,
        default=default_workers,
        help="server processes (ASSISTANT_WORKERS; default: its default)",
    )
    parser.add_argument("--store", choices=("sqlite", "redis"), default="sqlite")
    parser.add_argument(
        "--backend", choices=("onnx", "onnx-int8"), default="onnx", help="embedding backend (a data dir of its own)"
    )
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="only the in-process turns (no server, no HTTP; nothing written): print where their CPU goes",
    )
    args = parser.parse_args(argv)
    from app import limit_native_threads
    from evals.server import free_port, run_server_process, server_env

    limit_native_threads()  # the bare costs below run in this process, as a server would run them

    texts = distinct_texts(base_texts())
    if args.in_process:
        with tempfile.TemporaryDirectory() as tmp:
            split, tail = _turn_split(args.data_dir or Path(tmp), args.backend, texts, args.workers, args.turns)
        print("\n".join(render_split(split, tail, args.turns)))
        print(json.dumps({"split": split, "tail": tail}))
        return 0
    with tempfile.TemporaryDirectory() as tmp, _store_url(args.store, Path(tmp)) as store_url:
        data_dir = args.data_dir or Path(tmp)
        env = server_env(
            data_dir,
            Path(tmp) / "bench.db",
            free_port(),
            store_url=store_url,
            workers=str(args.workers),
            embedding_backend=args.backend,
            rate_limit_user_per_minute="1000000",
            rate_limit_ip_per_minute="1000000",
        )
        with run_server_process(env) as server:
            measure(server, 4 * args.workers, 5, texts, args.workers)  # warm-up, on every worker
            single = measure(server, 1, args.turns, texts, args.workers)
            concurrent = measure(server, args.concurrency, args.turns_each, texts, args.workers)
        bare = _bare_costs(data_dir, args.backend, texts)
        split, tail = _turn_split(data_dir, args.backend, texts, args.workers, args.turns)
    options = " ".join(argv if argv is not None else sys.argv[1:])
    result = {
        "command": f"python -m bench.turn_bench {options}".strip(),
        "store": args.store,
        "backend": args.backend,
        "workers": args.workers,
        "single": single,
        "concurrent": concurrent,
        "bare": bare,
        "split": split,
        "tail": tail,
        "split_turns": args.turns,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "turn_bench.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    report = render(result)
    (RESULTS / "turn_bench.md").write_text(report, encoding="utf-8")
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
