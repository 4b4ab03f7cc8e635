"""Shared fixtures: a real redis-server on a free loopback port, the real embedder loaded once, fakes."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from assistant.embedding import Embedder, HashingEmbedder
from storage.ports import Store

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"
# Debian's Chromium with the flags this machine needs (no sandbox as root, no background network traffic).
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Exported ONNX models are cached here across test runs (not in a tmp dir: export costs ~5 s).
MODEL_CACHE = ROOT / "data" / "models"


def run_module(
    module: str,
    *args: str,
    stdin: str = "",
    env: dict[str, str] | None = None,
    cwd: Path = ROOT,
    timeout: float = 240,
) -> subprocess.CompletedProcess[str]:
    """Run `python -m module args` as a user would (offline model hub, extra `env`); returns the finished process."""
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=full_env,
        timeout=timeout,
        check=False,
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """A real redis-server process on 127.0.0.1 with AOF on, in its own directory."""

    def __init__(self, directory: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not installed; `make test` installs it with apt-get")
        self.port = free_port()
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(directory),
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "everysec",
                "--daemonize",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._wait_ready()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        self.stop()
        pytest.fail("redis-server did not start")

    def flush(self) -> None:
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as sock:
            sock.sendall(b"FLUSHALL\r\n")
            sock.recv(16)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A real redis-server for the whole session, stopped afterwards."""
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """URL of the session's redis-server, flushed before each test."""
    redis_server.flush()
    return redis_server.url


@pytest.fixture(scope="session")
def real_embedder() -> Embedder:
    """The default embedder (bundled all-MiniLM-L6-v2 through ONNX Runtime), loaded once per session."""
    from assistant.st_embedder import OnnxEmbedder

    embedder = OnnxEmbedder(cache_dir=MODEL_CACHE)
    embedder.warm_up()
    return embedder


@pytest.fixture
def fake_embedder() -> HashingEmbedder:
    """A deterministic, instant embedder for unit tests of logic."""
    return HashingEmbedder()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared benchmark data folder; tests that need it skip clearly when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data folder {SHARED_DATA} is absent")
    return SHARED_DATA


@pytest.fixture(scope="session")
def prepared_data_dir(tmp_path_factory: pytest.TempPathFactory, real_embedder: Embedder) -> Path:
    """A data dir holding the demo KB snapshot and intent model, built once per session with the real model."""
    from assistant.content import ContentManager
    from assistant.embedding import CachingEmbedder
    from assistant.settings import Settings

    data_dir = tmp_path_factory.mktemp("prepared")
    settings = Settings(data_dir=data_dir, log_json=False)
    ContentManager(settings, CachingEmbedder(real_embedder)).prepare()
    models = data_dir / "models"
    if not models.exists():
        models.symlink_to(MODEL_CACHE, target_is_directory=True)
    return data_dir


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.integration)])
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Store]]:
    """Opens stores on one backend's data, like separate app workers (SQLite file, or the real redis-server)."""
    from storage.redis import RedisStore
    from storage.sqlite import SqliteStore

    opened: list[Store] = []

    def factory() -> Store:
        if request.param == "sqlite":
            store: Store = SqliteStore(tmp_path / "shared.db", synchronous="NORMAL")
        else:
            store = RedisStore(request.getfixturevalue("redis_url"))
        opened.append(store)
        return store

    yield factory
    for store in opened:
        store.close()
