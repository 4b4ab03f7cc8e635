"""`python -m handoff agents …` against a real SQLite file, then logging in over HTTP with what it created."""

from __future__ import annotations

import subprocess
from pathlib import Path

from fastapi.testclient import TestClient

from handoff.agents import AgentDirectory
from storage.sqlite import SqliteStore
from tests.conftest import ROOT, run_module
from tests.handoff.conftest import FakeClock, RecordingBus, World, build_app, isolated_settings, make_service


def _cli(tmp_path: Path, *args: str, password: str = "") -> subprocess.CompletedProcess[str]:
    env = {
        "PYTHONPATH": str(ROOT),
        "ASSISTANT_DATA_DIR": str(tmp_path),
        "ASSISTANT_STORE_URL": f"sqlite:///{tmp_path / 'agents.db'}",
    }
    return run_module("handoff", "agents", *args, stdin=password + "\n", env=env, cwd=tmp_path, timeout=60)


def test_cli_creates_agents_who_can_log_in(tmp_path: Path) -> None:
    created = _cli(tmp_path, "create", "Alice", "--role", "admin", "--name", "王老师", password="s3cret-pass-word")
    assert created.returncode == 0, created.stderr
    assert "created admin alice" in created.stdout
    assert "s3cret" not in created.stdout + created.stderr

    short = _cli(tmp_path, "create", "bob", password="short")
    assert short.returncode == 2
    assert "at least 8 characters" in short.stderr
    duplicate = _cli(tmp_path, "create", "alice", password="another-password")
    assert duplicate.returncode == 2
    assert "already exists" in duplicate.stderr
    listed = _cli(tmp_path, "list")
    assert listed.returncode == 0
    assert listed.stdout.split("\t")[:3] == ["alice", "admin", "active"]

    store = SqliteStore(tmp_path / "agents.db")
    try:
        bus, clock = RecordingBus(), FakeClock()
        world = World(store, bus, clock, make_service(store, bus, clock, agents=AgentDirectory(store)))
        with TestClient(build_app(world, isolated_settings(tmp_path))) as client:
            bad = client.post("/v1/agents/login", json={"username": "alice", "password": "s3cret-pass-wrong"})
            assert bad.status_code == 401
            good = client.post("/v1/agents/login", json={"username": "alice", "password": "s3cret-pass-word"})
            assert good.status_code == 200
            assert (good.json()["role"], good.json()["display_name"]) == ("admin", "王老师")
            me = client.get("/v1/agents/me", headers={"Authorization": f"Bearer {good.json()['token']}"})
            assert me.json()["username"] == "alice"
    finally:
        store.close()
