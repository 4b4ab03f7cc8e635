"""`python app.py` with ASSISTANT_WORKERS=2 on one SQLite store: both workers serve one conversation, and the
user's live WebSocket, held by one of them, sees every message in order whichever worker stored it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from prometheus_client.parser import text_string_to_metric_families

from evals.server import ServerProcess, free_port, run_server_process, server_env

pytestmark = [pytest.mark.integration, pytest.mark.slow]
TURNS_AT_MOST = 40


@pytest.fixture(scope="module")
def two_workers(prepared_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    store = tmp_path_factory.mktemp("workers") / "shared.db"
    env = server_env(prepared_data_dir, store, free_port(), workers="2", log_json="false")
    with run_server_process(env, ready_timeout=300) as server:
        yield server


def _turns_by_worker(base: str) -> dict[str, float]:
    """Turns each worker counted, read from /metrics over fresh connections until both workers answered."""
    seen: dict[str, float] = {}
    for _ in range(60):
        with httpx.Client(base_url=base, timeout=30) as client:  # a new connection may reach the other worker
            text = client.get("/metrics").text
        pid, turns = "", 0.0
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == "assistant_worker_info":
                    pid = sample.labels["pid"]
                elif sample.name == "assistant_turns_total":
                    turns += sample.value
        seen[pid] = turns
        if len(seen) == 2:
            break
    return seen


async def _follow(ws_url: str, received: list[dict[str, Any]]) -> None:
    async with websockets.connect(ws_url) as ws:
        while True:
            event = json.loads(await ws.recv())
            if event["type"] == "message":
                received.append(event["message"])


async def _until(received: list[dict[str, Any]], count: int, seconds: float) -> bool:
    deadline = asyncio.get_running_loop().time() + seconds
    while len(received) < count:
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


def test_both_workers_answer_one_conversation_and_its_websocket_misses_nothing(two_workers: ServerProcess) -> None:
    base = two_workers.base
    conv = httpx.post(f"{base}/v1/conversations", timeout=30).json()
    headers = {"Authorization": f"Bearer {conv['token']}"}
    url = f"/v1/conversations/{conv['conversation_id']}/messages"
    ws_url = f"{base.replace('http', 'ws')}/v1/conversations/{conv['conversation_id']}/ws?token={conv['token']}"
    texts = ["课程怎么退款", "会员多少钱", "发票怎么开", "How do I reset my password?"]

    async def scenario() -> tuple[list[dict[str, Any]], int, dict[str, float]]:
        received: list[dict[str, Any]] = []
        listener = asyncio.create_task(_follow(ws_url, received))
        turns, by_worker = 0, {}
        try:
            while turns < TURNS_AT_MOST:
                # A fresh connection per turn, so the kernel hands turns to either worker.
                async with httpx.AsyncClient(base_url=base, timeout=60) as client:
                    response = await client.post(url, json={"text": texts[turns % len(texts)]}, headers=headers)
                assert response.status_code == 200, response.text
                assert response.json()["action"] != "relay"
                turns += 1
                # The reply reaches the socket live, whichever worker stored it (the first one may come from the
                # backlog the socket reads once subscribed; later ones only by the live relay between workers).
                assert await _until(received, 2 * turns, 10), f"turn {turns} never reached the socket"
                if turns % 4 == 0:
                    by_worker = await asyncio.to_thread(_turns_by_worker, base)
                    if len(by_worker) == 2 and all(by_worker.values()):
                        break
        finally:
            listener.cancel()
        return received, turns, by_worker

    received, turns, by_worker = asyncio.run(scenario())

    assert len(by_worker) == 2
    assert all(count > 0 for count in by_worker.values()), by_worker  # both workers answered turns
    transcript = httpx.get(f"{base}{url}", headers=headers, timeout=30).json()["messages"]
    assert len(transcript) == 2 * turns
    # Every message once, in order, as stored.
    assert [m["seq"] for m in received] == list(range(1, 2 * turns + 1))
    assert [m["text"] for m in received] == [m["text"] for m in transcript]
