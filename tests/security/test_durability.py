"""Durability: a message acknowledged to the client survives `kill -9` of the server, on SQLite and on Redis.

The server runs as a real process (`python app.py`) on the session's prepared data dir (KB snapshot, intent model,
ONNX model cache), so start-up takes seconds and nothing is rebuilt.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ROOT, free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ACKS_BEFORE_KILL = 12


class ServerProcess:
    """`python app.py` with the given ASSISTANT_* settings, its output in a log file."""

    def __init__(self, settings: dict[str, str], workdir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
        env.update(settings, ASSISTANT_HOST="127.0.0.1", ASSISTANT_PORT=str(self.port), HF_HUB_OFFLINE="1")
        self.log = workdir / f"server-{self.port}.log"
        with self.log.open("wb") as out:
            # cwd away from the repo: no developer .env is read.
            self.process = subprocess.Popen(
                [sys.executable, str(ROOT / "app.py")], cwd=workdir, env=env, stdout=out, stderr=subprocess.STDOUT
            )

    def wait_ready(self, timeout: float = 180.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"the server exited with {self.process.returncode}:\n{self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        self.stop()
        pytest.fail(f"the server was not ready in {timeout} s:\n{self.log.read_text()[-3000:]}")

    def kill9(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill9()


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[list[ServerProcess]]:
    """Every server a test starts is stopped at the end, whatever happens."""
    started: list[ServerProcess] = []
    yield started
    for server in started:
        server.stop()


def _settings(prepared_data_dir: Path, store_url: str) -> dict[str, str]:
    return {
        "ASSISTANT_DATA_DIR": str(prepared_data_dir),
        "ASSISTANT_STORE_URL": store_url,
        "ASSISTANT_BUILD_ON_START": "false",  # the prepared snapshot and model are shared: read them only
        "ASSISTANT_RETENTION_INTERVAL_MINUTES": "0",
        "ASSISTANT_LOG_LEVEL": "WARNING",
        "ASSISTANT_WORKERS": "1",  # one process: `kill -9` hits the process that acknowledged the messages
    }


def _chat_until_killed(server: ServerProcess) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Post messages from another thread and kill -9 the server while it is still receiving them."""
    client = httpx.Client(base_url=server.url, timeout=30)
    conversation = client.post("/v1/conversations").json()
    headers = {"Authorization": f"Bearer {conversation['token']}"}
    url = f"/v1/conversations/{conversation['conversation_id']}/messages"
    acked: list[dict[str, Any]] = []
    enough = threading.Event()
    run = uuid.uuid4().hex[:8]

    def post_forever() -> None:
        for number in range(10_000):
            try:
                response = client.post(url, json={"text": f"持久性测试 {run} #{number}"}, headers=headers)
            except httpx.TransportError:
                return  # the server is gone
            if response.status_code == 200:
                acked.append(response.json())
            if len(acked) >= ACKS_BEFORE_KILL:
                enough.set()

    poster = threading.Thread(target=post_forever, daemon=True)
    poster.start()
    assert enough.wait(120), f"only {len(acked)} messages were acknowledged"
    server.kill9()  # the poster is mid-request: that one was never acknowledged
    poster.join(timeout=30)
    client.close()
    return conversation, list(acked)


@pytest.mark.parametrize("backend", ["sqlite", "redis"])
def test_acknowledged_messages_survive_kill_9(
    backend: str, prepared_data_dir: Path, tmp_path: Path, servers: list[ServerProcess], request: pytest.FixtureRequest
) -> None:
    store_url = f"sqlite:///{tmp_path / 'durable.db'}" if backend == "sqlite" else request.getfixturevalue("redis_url")
    settings = _settings(prepared_data_dir, store_url)
    first = ServerProcess(settings, tmp_path)
    servers.append(first)
    first.wait_ready()

    conversation, acked = _chat_until_killed(first)

    assert first.process.returncode == -signal.SIGKILL
    second = ServerProcess(settings, tmp_path)
    servers.append(second)
    second.wait_ready()
    transcript = httpx.get(
        f"{second.url}/v1/conversations/{conversation['conversation_id']}/messages",
        headers={"Authorization": f"Bearer {conversation['token']}"},
        timeout=30,
    ).json()
    stored = {m["message_id"]: m for m in transcript["messages"]}
    for ack in acked:
        for message in (ack["user_message"], ack["bot_message"]):
            if message is not None:  # once handed off, turns are relayed to an advisor: no bot reply
                assert stored[message["message_id"]]["text"] == message["text"]
    assert [m["seq"] for m in transcript["messages"]] == list(range(1, len(transcript["messages"]) + 1))
