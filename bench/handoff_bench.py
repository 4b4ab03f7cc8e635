"""How fast an advisor's message reaches the user's widget, and what a handoff costs as the queue grows.

`python -m bench.handoff_bench [--messages 100] [--data-dir DIR]`

The real server runs as its own process (`python app.py`, SQLite store). A user conversation is handed off,
an advisor claims it over the agents' API, and then sends messages; the time from sending each message to its
arrival on the user's conversation WebSocket is measured. Target: under 300 ms.

`python -m bench.handoff_bench --queue [--sizes 10 300 3000] [--backends sqlite redis] [--repeat 20]`

In-process instead: a store (a SQLite file, synchronous FULL as served; or a redis-server this bench starts, AOF
on) is filled with N waiting tickets and N resolved ones, each with a handoff packet of a realistic size (a 12-message
transcript, about 4 KB), then the process CPU time and the wall time of a handoff (`HandoffService.escalate` of a
new conversation), of the waiting queue's console view and of the resolved list are measured, `--repeat` times each.
The bus is in-process with no subscriber (publishing still encodes each event), so the figures are the store's work
and the queue's; a Redis figure's CPU is this process's only (the server's is not counted, its wall time is).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import websockets

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PASSWORD = "bench-password-123"


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _measure(base: str, messages: int) -> list[float]:
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        conv = (await client.post("/v1/conversations")).json()
        user = {"Authorization": f"Bearer {conv['token']}"}
        cid = conv["conversation_id"]
        turn = await client.post(f"/v1/conversations/{cid}/messages", json={"quick_reply": "handoff"}, headers=user)
        ticket = turn.json()["handoff"]["ticket_id"]
        login = await client.post("/v1/agents/login", json={"username": "bench", "password": PASSWORD})
        agent = {"Authorization": f"Bearer {login.json()['token']}"}
        (await client.post(f"/v1/handoff/tickets/{ticket}/claim", headers=agent)).raise_for_status()
        transcript = (await client.get(f"/v1/conversations/{cid}/messages", headers=user)).json()["messages"]
        last = max(m["seq"] for m in transcript)
        ws_url = base.replace("http", "ws") + f"/v1/conversations/{cid}/ws?token={conv['token']}&after_seq={last}"
        latencies: list[float] = []
        async with websockets.connect(ws_url) as ws:
            await asyncio.sleep(0.3)  # let the subscription settle
            for i in range(messages):
                marker = f"bench-{i}"
                sent = time.perf_counter()
                response = await client.post(
                    f"/v1/handoff/tickets/{ticket}/messages", json={"text": marker}, headers=agent
                )
                response.raise_for_status()
                while True:
                    event = json.loads(await asyncio.wait_for(ws.recv(), timeout=10))
                    if event.get("type") == "message" and event["message"].get("text") == marker:
                        latencies.append((time.perf_counter() - sent) * 1000)
                        break
        return latencies


_TIERS = ("vip", "member", "free", "free")
_LINE = "我上周买的课程在手机上一直打不开，换了网络也不行，能帮我看看是怎么回事吗？"


def _packet(rng: random.Random) -> dict[str, Any]:
    """A handoff packet about the size a real one has: a 12-message transcript, summary and key points."""
    transcript = [
        {"role": "user" if i % 2 == 0 else "bot", "text": _LINE * rng.randint(1, 3), "at": 1_767_240_000.0 + i}
        for i in range(12)
    ]
    return {
        "user": {"id": "u", "name": "小明", "tier": "free"},
        "summary": _LINE * 2,
        "key_points": [_LINE] * 4,
        "unresolved_question": _LINE,
        "transcript": transcript,
    }


def _fill(store: Any, size: int, start: float, rng: random.Random) -> None:
    """`size` waiting tickets and `size` resolved ones, written as the service writes them."""
    from handoff.models import Ticket
    from handoff.tickets import TicketRepository

    tickets = TicketRepository(store)
    for i in range(2 * size):
        created = start + i
        tier = rng.choice(_TIERS)
        ticket = Ticket(
            id=uuid.uuid4().hex,
            conversation_id=uuid.uuid4().hex,
            user_id=f"user-{i}",
            tier=tier,
            channel="web",
            reason="user_request",
            summary=_LINE,
            created_at=created,
            sla_deadline=created + 900.0,
            packet=_packet(rng),
            preview=_LINE,
            history=[{"type": "created", "at": created, "reason": "user_request"}],
        )
        with store.write_group():
            tickets.create(ticket)
            if i % 2:
                changes = {"status": "resolved", "claimed_at": created + 60, "resolved_at": created + 300}
                tickets.transition(ticket.id, {}, changes)  # a resolution leaves the open index itself


def _timed(action: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Mean process CPU and wall milliseconds of `repeat` calls."""
    cpu, wall = 0.0, 0.0
    for _ in range(repeat):
        c0, w0 = time.process_time(), time.perf_counter()
        action()
        cpu += time.process_time() - c0
        wall += time.perf_counter() - w0
    return round(cpu / repeat * 1000, 2), round(wall / repeat * 1000, 2)


def _queue_case(store: Any, size: int, repeat: int) -> dict[str, Any]:
    from assistant.conversations import ConversationRepository
    from handoff.service import HandoffService
    from storage.bus import InMemoryEventBus

    rng = random.Random(size)
    now = 1_767_240_000.0  # inside business hours
    _fill(store, size, now - 4 * size, rng)
    service = HandoffService(store, InMemoryEventBus(), clock=lambda: now)
    repo = ConversationRepository(store)
    counter = iter(range(10**9))

    def handoff() -> None:
        n = next(counter)
        user = repo.ensure_user(f"bench-{n}", tier=rng.choice(_TIERS), name="小明", channel="web")
        conv = repo.create(user, channel="web")
        for i in range(6):
            repo.append(conv.id, "user" if i % 2 == 0 else "bot", _LINE)
        trail = [{"text": "转人工", "intent": "human_agent", "confidence": 0.97, "action": "handoff"}]
        c0, w0 = time.process_time(), time.perf_counter()
        service.escalate(repo.require(conv.id), reason="user_request", trail=trail, agents_available=True)
        times.append((time.process_time() - c0, time.perf_counter() - w0))

    times: list[tuple[float, float]] = []
    handoff()  # warm-up
    times.clear()
    for _ in range(repeat):
        handoff()
    service.list_tickets("waiting")  # warm-ups: a first read may do one-time work (e.g. ranking old data)
    service.list_tickets("resolved")
    queue_cpu, queue_wall = _timed(lambda: service.list_tickets("waiting"), repeat)
    resolved_cpu, resolved_wall = _timed(lambda: service.list_tickets("resolved"), repeat)
    return {
        "size": size,
        "handoff_cpu_ms": round(statistics.mean(c for c, _ in times) * 1000, 2),
        "handoff_wall_ms": round(statistics.mean(w for _, w in times) * 1000, 2),
        "queue_view_cpu_ms": queue_cpu,
        "queue_view_wall_ms": queue_wall,
        "resolved_view_cpu_ms": resolved_cpu,
        "resolved_view_wall_ms": resolved_wall,
    }


@contextlib.contextmanager
def _redis_server(directory: Path) -> Iterator[str]:
    from evals.server import free_port

    port = free_port()
    args = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory), "--save", ""]
    args += ["--appendonly", "yes", "--appendfsync", "everysec"]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        import redis

        client = redis.Redis(port=port)
        for _ in range(300):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        client.close()
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


def _queue_bench(sizes: list[int], backends: list[str], repeat: int) -> list[dict[str, Any]]:
    from storage.redis import RedisStore
    from storage.sqlite import SqliteStore

    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for backend in backends:
            for size in sizes:
                if backend == "sqlite":
                    store: Any = SqliteStore(Path(tmp) / f"queue-{size}.db", synchronous="FULL")
                    rows.append({"backend": backend, **_queue_case(store, size, repeat)})
                    store.close()
                else:
                    directory = Path(tmp) / f"redis-{size}"
                    directory.mkdir()
                    with _redis_server(directory) as url:
                        store = RedisStore(url)
                        rows.append({"backend": backend, **_queue_case(store, size, repeat)})
                        store.close()
                print(rows[-1], flush=True)
    return rows


def _queue_report(rows: list[dict[str, Any]], repeat: int) -> str:
    lines = [
        "# A handoff, the queue view and the resolved list as the queue grows (in-process)\n",
        f"`python -m bench.handoff_bench --queue`: N waiting and N resolved tickets; means of {repeat} calls; "
        f"load average {os.getloadavg()[0]:.1f} at the end.\n",
        "| backend | N | handoff CPU ms | handoff wall ms | queue view CPU ms | queue view wall ms "
        "| resolved list CPU ms | resolved list wall ms |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['backend']} | {r['size']} | {r['handoff_cpu_ms']} | {r['handoff_wall_ms']} | "
            f"{r['queue_view_cpu_ms']} | {r['queue_view_wall_ms']} | {r['resolved_view_cpu_ms']} | "
            f"{r['resolved_view_wall_ms']} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Serve, measure, write bench/results/handoff_bench.{md,json} (or handoff_queue.{md,json} with --queue)."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.handoff_bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=100)
    parser.add_argument("--data-dir", type=Path, help="a prepared data dir (default: a temporary one, built first)")
    parser.add_argument("--queue", action="store_true", help="measure the queue's cost in-process instead")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 300, 3000])
    parser.add_argument("--backends", nargs="+", choices=["sqlite", "redis"], default=["sqlite", "redis"])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--out", default="handoff_queue", help="--queue: results file name (without suffix)")
    args = parser.parse_args(argv)
    if args.queue:
        rows = _queue_bench(args.sizes, args.backends, args.repeat)
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / f"{args.out}.json").write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
        report = _queue_report(rows, args.repeat)
        (RESULTS / f"{args.out}.md").write_text(report, encoding="utf-8")
        print(report)
        return 0
    from evals.server import free_port, serve_process, server_env

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = args.data_dir or Path(tmp)
        env = server_env(data_dir, Path(tmp) / "handoff.db", free_port())
        subprocess.run(
            [sys.executable, "-m", "handoff", "agents", "create", "bench", "--role", "agent"],
            input=PASSWORD + "\n",
            text=True,
            env=env,
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        with serve_process(env) as base:
            latencies = asyncio.run(_measure(base, args.messages))
    result = {
        "messages": len(latencies),
        "p50_ms": round(statistics.median(latencies), 2),
        "p95_ms": round(_pct(latencies, 0.95), 2),
        "max_ms": round(max(latencies), 2),
        "under_300_ms": sum(v < 300 for v in latencies),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "handoff_bench.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    text = (
        "# Advisor message → user's widget (WebSocket), loopback\n\n"
        f"`python -m bench.handoff_bench`: {result['messages']} messages; p50 {result['p50_ms']} ms, "
        f"p95 {result['p95_ms']} ms, max {result['max_ms']} ms; {result['under_300_ms']} under 300 ms.\n"
    )
    (RESULTS / "handoff_bench.md").write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
