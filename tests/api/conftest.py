"""An app wired to scripted dialogue fakes and an in-memory store: fast tests of the HTTP layer."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.runtime import Overrides
from app import create_app
from assistant.dialogue import DialogueEngine, parse_flows, parse_policy
from assistant.settings import Settings
from storage.bus import InMemoryEventBus
from storage.sqlite import SqliteStore
from tests.dialogue.conftest import FLOWS_DOC
from tests.dialogue.fakes import FakeIntents, FakeKB


def wait_ready(client: TestClient, timeout: float = 30.0) -> None:
    """Poll /readyz until 200."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if client.get("/readyz").status_code == 200:
            return
        time.sleep(0.02)
    raise AssertionError(f"not ready: {client.get('/readyz').json()}")


@pytest.fixture
def fake_kb() -> FakeKB:
    kb = FakeKB()
    kb.script("课程怎么退款", [("refund-course", 0.93), ("refund-membership", 0.2)])
    kb.script("退款多久到账", [("refund-arrival", 0.9)])
    return kb


@pytest.fixture
def fake_intents() -> FakeIntents:
    return FakeIntents()


@pytest.fixture
def api_settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, store_url=f"sqlite:///{tmp_path / 'a.db'}", log_json=False)


@pytest.fixture
def client(api_settings: Settings, fake_kb: FakeKB, fake_intents: FakeIntents) -> Iterator[TestClient]:
    # Business hours 00:00–24:00 so handoffs are live whatever the clock says.
    policy = parse_policy({"business_hours": {"open": "00:00", "close": "23:59"}}, "policy.yaml")
    engine = DialogueEngine(fake_kb, fake_intents, flows=parse_flows(FLOWS_DOC, "flows.yaml"), policy=policy)
    overrides = Overrides(store=SqliteStore(api_settings.data_dir / "test.db"), bus=InMemoryEventBus(), engine=engine)
    with TestClient(create_app(api_settings, overrides)) as test_client:
        wait_ready(test_client)
        yield test_client
