"""A real app (bundled model, demo KB and intents, SQLite) on a free 127.0.0.1 port, and Debian's Chromium."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
import yaml

from api.runtime import Overrides
from app import create_app
from assistant.embedding import CachingEmbedder, Embedder
from assistant.settings import DEMO_DIR, Settings
from tests.conftest import CHROMIUM, CHROMIUM_ARGS, free_port

AGENT_PASSWORD = "correct-horse-battery"


@dataclass
class LiveApp:
    """The served app: its base URL and runtime (for seeding agents)."""

    url: str
    app: Any


def always_open_policy(tmp_path: Path) -> Path:
    """The demo policy with advisors on duty around the clock, so handoffs are live whenever tests run."""
    policy = yaml.safe_load((DEMO_DIR / "policy.yaml").read_text(encoding="utf-8"))
    policy["business_hours"].update({"open": "00:00", "close": "23:59"})
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(policy, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def live_app(
    prepared_data_dir: Path, real_embedder: Embedder, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveApp]:
    tmp = tmp_path_factory.mktemp("e2e")
    data_dir = tmp / "data"
    shutil.copytree(prepared_data_dir, data_dir, symlinks=True)
    settings = Settings(
        data_dir=data_dir,
        store_url=f"sqlite:///{tmp / 'e2e.db'}",
        policy_path=always_open_policy(tmp),
        log_json=False,
    )
    app = create_app(settings, Overrides(embedder=CachingEmbedder(real_embedder)))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", log_config=None))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while True:
        try:
            if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "app did not become ready"
        time.sleep(0.1)
    yield LiveApp(url, app)
    server.should_exit = True
    thread.join(timeout=15)


@pytest.fixture
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()
