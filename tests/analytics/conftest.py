"""Fixtures: the full app on a scripted dialogue engine and an SQLite store, with admin and agent tokens."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.runtime import Overrides, Runtime
from app import create_app
from assistant.auth import issue_agent_token, issue_user_token
from assistant.dialogue import DialogueEngine, parse_flows, parse_policy
from assistant.settings import DEV_USER_SECRET, Settings
from handoff.agents import AgentDirectory
from handoff.service import HandoffService
from handoff.wiring import handoff_service
from knowledge_base.models import FaqEntry
from storage.bus import InMemoryEventBus
from storage.sqlite import SqliteStore
from tests.api.conftest import wait_ready
from tests.dialogue.conftest import FLOWS_DOC
from tests.dialogue.fakes import FakeIntents, FakeKB
from tests.handoff.conftest import SECRET, fast_hasher, isolated_settings


class FakePublisher:
    """Stands in for the knowledge base's publish hook: remembers entries, returns a new version."""

    def __init__(self) -> None:
        self.published: list[FaqEntry] = []

    def __call__(self, entries: list[FaqEntry]) -> str:
        self.published.extend(entries)
        return f"v{len(self.published)}"


@dataclass
class Site:
    """A running app and handles on its insides."""

    client: TestClient
    runtime: Runtime
    admin: dict[str, str]
    agent: dict[str, str]
    publisher: FakePublisher

    @property
    def handoff(self) -> HandoffService:
        return handoff_service(self.runtime)

    def start(self, user: str = "u1", tier: str = "free") -> dict[str, Any]:
        """Start a conversation as a platform user; returns the API's answer (id and token)."""
        token = issue_user_token(user, DEV_USER_SECRET, tier=tier)  # type: ignore[arg-type]
        response = self.client.post("/v1/conversations", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 201, response.text
        return response.json()  # type: ignore[no-any-return]

    def say(self, conv: dict[str, Any], **body: Any) -> dict[str, Any]:
        """Send a user turn."""
        response = self.client.post(
            f"/v1/conversations/{conv['conversation_id']}/messages",
            json=body,
            headers={"Authorization": f"Bearer {conv['token']}"},
        )
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]


def site_settings(tmp_path: Path) -> Settings:
    """Isolated settings whose server secret the tokens below are signed with."""
    return isolated_settings(tmp_path, store_url=f"sqlite:///{tmp_path / 'a.db'}", log_json=False)


def scripted_engine() -> DialogueEngine:
    """The dialogue engine on scripted KB and intents (business hours all day, so handoffs are live)."""
    kb = FakeKB()
    kb.script("课程怎么退款", [("refund-course", 0.93)])
    kb.script("退款多久到账", [("refund-arrival", 0.9)])
    policy = parse_policy({"business_hours": {"open": "00:00", "close": "23:59"}}, "policy.yaml")
    return DialogueEngine(kb, FakeIntents(), flows=parse_flows(FLOWS_DOC, "flows.yaml"), policy=policy)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    settings = site_settings(tmp_path)
    store = SqliteStore(tmp_path / "test.db")
    overrides = Overrides(store=store, bus=InMemoryEventBus(), engine=scripted_engine())
    with TestClient(create_app(settings, overrides)) as client:
        wait_ready(client)
        runtime: Runtime = client.app.state.runtime  # type: ignore[attr-defined]
        publisher = FakePublisher()
        runtime.components["kb_publish"] = publisher
        directory = AgentDirectory(runtime.store, fast_hasher())
        admin = directory.create("boss", "correct-horse-battery", role="admin", display_name="主管").identity
        agent = directory.create("alice", "correct-horse-battery", display_name="王老师").identity
        yield Site(
            client,
            runtime,
            {"Authorization": f"Bearer {issue_agent_token(admin, SECRET, 3600)}"},
            {"Authorization": f"Bearer {issue_agent_token(agent, SECRET, 3600)}"},
            publisher,
        )
