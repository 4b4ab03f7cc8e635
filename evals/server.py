"""Run the real app on a free 127.0.0.1 port in a background thread (for evals and benchmarks over HTTP)."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
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


def wait_ready(base: str, timeout: float, workers: int = 1) -> None:
    """Poll /readyz until it answers 200 from `workers` distinct processes; raise with the last status otherwise."""
    deadline = time.monotonic() + timeout
    last: Any = None
    ready: set[Any] = set()
    while time.monotonic() < deadline:
        try:
            response = httpx.get(f"{base}/readyz", timeout=5)  # a new connection each time: any worker may answer
            last = response.json()
            if response.status_code == 200:
                ready.add(last.get("worker"))
                if len(ready) >= workers:
                    return
                continue
            if isinstance(last, dict) and last.get("error"):
                raise RuntimeError(f"server failed to start: {last['error']}")
        except httpx.TransportError as exc:
            last = str(exc)
        time.sleep(0.2)
    raise TimeoutError(f"server not ready after {timeout:.0f} s: {last}")


def server_env(data_dir: Any, store_path: Any, port: int, **settings: str) -> dict[str, str]:
    """Environment for `python app.py` on a prepared data dir, a fresh SQLite store and a given port."""
    env = {
        "ASSISTANT_WORKERS": "1",  # one process unless a caller asks for more (`run_server_process` waits for each)
        **os.environ,
        "ASSISTANT_DATA_DIR": str(data_dir),
        "ASSISTANT_STORE_URL": f"sqlite:///{store_path}",
        "ASSISTANT_PORT": str(port),
        "ASSISTANT_LOG_LEVEL": "WARNING",
        "HF_HUB_OFFLINE": "1",
    }
    env.update({f"ASSISTANT_{name.upper()}": value for name, value in settings.items()})
    return env


@dataclass
class ServerProcess:
    """A server started by `run_server_process`: its base URL and process id."""

    base: str
    pid: int

    def cpu_seconds(self) -> float:
        """CPU time (user + system) used so far by the server and every process it started (its workers)."""
        return sum(_cpu_of(pid) for pid in _tree(self.pid))


def _tree(root: int) -> list[int]:
    """`root` and its descendants, read from /proc (Linux)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):  # the process ended while we looked
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def _cpu_of(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # utime and stime are fields 14 and 15 of stat(5), counted after the ")" that ends the command name.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def run_server_process(env: dict[str, str], *, ready_timeout: float = 900.0) -> Iterator[ServerProcess]:
    """Run `python app.py` as its own process (no GIL shared with the client) until the block ends."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    server = subprocess.Popen([sys.executable, str(root / "app.py")], env=env, cwd=root)
    try:
        base = f"http://127.0.0.1:{env['ASSISTANT_PORT']}"
        wait_ready(base, ready_timeout, workers=int(env.get("ASSISTANT_WORKERS", "1")))
        yield ServerProcess(base, server.pid)
    finally:
        server.terminate()
        server.wait(timeout=60)


@contextmanager
def serve_process(env: dict[str, str], *, ready_timeout: float = 900.0) -> Iterator[str]:
    """Run `python app.py` as its own process (no GIL shared with the client); yields the base URL once ready."""
    with run_server_process(env, ready_timeout=ready_timeout) as server:
        yield server.base
