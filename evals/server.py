"""Run the real app on a free 127.0.0.1 port in a background thread (for evals and benchmarks over HTTP)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(settings: Any, *, ready_timeout: float = 600.0, overrides: Any = None) -> Iterator[str]:
    """Serve `create_app(settings)` with uvicorn until the block ends; yields the base URL once /readyz is 200."""
    import uvicorn

    from app import create_app

    port = free_port()
    config = uvicorn.Config(
        create_app(settings, overrides), host="127.0.0.1", port=port, log_level="warning", log_config=None
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, ready_timeout)
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def wait_ready(base: str, timeout: float) -> None:
    """Poll /readyz until it answers 200; raise with the last status otherwise."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            response = httpx.get(f"{base}/readyz", timeout=5)
            if response.status_code == 200:
                return
            last = response.json()
            if isinstance(last, dict) and last.get("error"):
                raise RuntimeError(f"server failed to start: {last['error']}")
        except httpx.TransportError as exc:
            last = str(exc)
        time.sleep(0.2)
    raise TimeoutError(f"server not ready after {timeout:.0f} s: {last}")


def server_env(data_dir: Any, store_path: Any, port: int, **settings: str) -> dict[str, str]:
    """Environment for `python app.py` on a prepared data dir, a fresh SQLite store and a given port."""
    import os

    env = {
        **os.environ,
        "ASSISTANT_DATA_DIR": str(data_dir),
        "ASSISTANT_STORE_URL": f"sqlite:///{store_path}",
        "ASSISTANT_PORT": str(port),
        "ASSISTANT_LOG_LEVEL": "WARNING",
        "HF_HUB_OFFLINE": "1",
    }
    env.update({f"ASSISTANT_{name.upper()}": value for name, value in settings.items()})
    return env


@contextmanager
def serve_process(env: dict[str, str], *, ready_timeout: float = 900.0) -> Iterator[str]:
    """Run `python app.py` as its own process (no GIL shared with the client); yields the base URL once ready."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    server = subprocess.Popen([sys.executable, str(root / "app.py")], env=env, cwd=root)
    try:
        base = f"http://127.0.0.1:{env['ASSISTANT_PORT']}"
        wait_ready(base, ready_timeout)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)
