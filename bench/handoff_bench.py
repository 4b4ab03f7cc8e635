"""How fast an advisor's message reaches the user's open widget connection (WebSocket), on loopback.

`python -m bench.handoff_bench [--messages 100] [--data-dir DIR]`

The real server runs as its own process (`python app.py`, SQLite store). A user conversation is handed off,
an advisor claims it over the agents' API, and then sends messages; the time from sending each message to its
arrival on the user's conversation WebSocket is measured. Target: under 300 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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


def main(argv: list[str] | None = None) -> int:
    """Serve, measure, write bench/results/handoff_bench.{md,json}."""
    parser = argparse.ArgumentParser(prog="python -m bench.handoff_bench", description=__doc__)
    parser.add_argument("--messages", type=int, default=100)
    parser.add_argument("--data-dir", type=Path, help="a prepared data dir (default: a temporary one, built first)")
    args = parser.parse_args(argv)
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
