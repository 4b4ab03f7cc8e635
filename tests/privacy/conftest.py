"""Fixtures: the full app on a scripted dialogue engine, on SQLite or a real Redis, with users, agents, admins."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from api.runtime import Overrides, Runtime
from app import create_app
from assistant.auth import issue_agent_token, issue_user_token
from assistant.dialogue import DialogueEngine, parse_flows, parse_policy
from assistant.settings import Settings
from channels.signing import signed_headers
from handoff.agents import AgentDirectory
from handoff.service import HandoffService
from handoff.wiring import handoff_service
from storage.bus import InMemoryEventBus, RedisEventBus
from storage.ports import Store
from storage.redis import RedisStore
from storage.sqlite import SqliteStore
from tests.api.conftest import wait_ready
from tests.dialogue.conftest import FLOWS_DOC
from tests.dialogue.fakes import FakeIntents, FakeKB
from tests.handoff.conftest import RecordingBus, fast_hasher

SERVER_SECRET = "privacy-test-server-secret-0123456789"
USER_SECRET = "privacy-test-user-secret-0123456789"
PASSWORD = "correct-horse-battery"
REFUND = "课程怎么退款"
WEBHOOK_CHANNEL = "crm"
WEBHOOK_SECRET = "crm-webhook-secret-0123456789"


def bearer(token: str) -> dict[str, str]:
    """Authorization header."""
    return {"Authorization": f"Bearer {token}"}


def privacy_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Settings isolated from the environment, with this suite's secrets."""
    values: dict[str, Any] = {
        "data_dir": tmp_path,
        "store_url": f"sqlite:///{tmp_path / 'unused.db'}",
        "log_json": False,
        "secret_key": SecretStr(SERVER_SECRET),
        "user_token_secret": SecretStr(USER_SECRET),
        "webhook_secrets": {WEBHOOK_CHANNEL: SecretStr(WEBHOOK_SECRET)},
        "webhook_backoff_seconds": 3600.0,  # deliveries to the dead test URL are tried once, not every 2 s
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def scripted_engine() -> DialogueEngine:
    """Scripted KB and intents: the refund question is answered, anything else falls back."""
    kb = FakeKB()
    kb.script(REFUND, [("refund-course", 0.93)])
    intents = FakeIntents()
    intents.script(REFUND, "refund_course", 0.91)
    policy = parse_policy({"business_hours": {"open": "00:00", "close": "24:00"}}, "policy.yaml")
    return DialogueEngine(kb, intents, flows=parse_flows(FLOWS_DOC, "flows.yaml"), policy=policy)


@dataclass
class Site:
    """A running app, handles on its insides, and helpers that act as users, advisors and admins."""

    client: TestClient
    runtime: Runtime
    store: Store
    bus: RecordingBus
    admin: dict[str, str]
    agent: dict[str, str]

    @property
    def handoff(self) -> HandoffService:
        return handoff_service(self.runtime)

    def user(self, user_id: str, name: str = "", tier: str = "free") -> dict[str, str]:
        """Authorization header with a platform JWT for the user."""
        return bearer(issue_user_token(user_id, USER_SECRET, tier=tier, name=name))  # type: ignore[arg-type]

    def start(self, user_id: str, name: str = "") -> dict[str, Any]:
        """Start a conversation as the user; the API's answer (conversation id and token)."""
        response = self.client.post("/v1/conversations", headers=self.user(user_id, name))
        assert response.status_code == 201, response.text
        return response.json()  # type: ignore[no-any-return]

    def say(self, conv: dict[str, Any], **body: Any) -> dict[str, Any]:
        """Send a user turn with the conversation token."""
        response = self.client.post(
            f"/v1/conversations/{conv['conversation_id']}/messages", json=body, headers=bearer(conv["token"])
        )
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    def hand_off(self, conv: dict[str, Any]) -> str:
        """Ask for a person; the ticket id."""
        return str(self.say(conv, quick_reply="handoff")["handoff"]["ticket_id"])

    def webhook_turn(self, user_id: str, thread: str, text: str) -> dict[str, Any]:
        """A user turn arriving through the signed inbound webhook of the `crm` integration."""
        body = json.dumps({"user": {"id": user_id}, "conversation_id": thread, "text": text}).encode()
        headers = {"Content-Type": "application/json", **signed_headers(WEBHOOK_SECRET, body)}
        response = self.client.post(f"/channels/webhook/{WEBHOOK_CHANNEL}", content=body, headers=headers)
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    def agent_call(self, method: str, path: str, **kwargs: Any) -> Any:
        """An advisor's API call that must succeed."""
        response = self.client.request(method, path, headers=self.agent, **kwargs)
        assert response.status_code < 300, response.text
        return response.json() if response.content else None


@contextlib.contextmanager
def open_site(settings: Settings, store: Store, bus: Any) -> Iterator[Site]:
    """Run the app on this store and bus until the block ends (then the store is closed)."""
    recording = RecordingBus()
    recording.inner = bus
    overrides = Overrides(store=store, bus=recording, engine=scripted_engine())
    with TestClient(create_app(settings, overrides)) as client:
        wait_ready(client)
        runtime: Runtime = client.app.state.runtime  # type: ignore[attr-defined]
        directory = AgentDirectory(runtime.store, fast_hasher())
        admin = directory.create("boss", PASSWORD, role="admin", display_name="主管").identity
        agent = directory.create("alice", PASSWORD, display_name="王老师").identity
        yield Site(
            client,
            runtime,
            runtime.store,
            recording,
            bearer(issue_agent_token(admin, SERVER_SECRET, 3600)),
            bearer(issue_agent_token(agent, SERVER_SECRET, 3600)),
        )


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    """The app on an SQLite file."""
    with open_site(privacy_settings(tmp_path), SqliteStore(tmp_path / "site.db"), InMemoryEventBus()) as opened:
        yield opened


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.integration)])
def any_site(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Site]:
    """The app on each store in turn: an SQLite file, then the session's real redis-server."""
    if request.param == "sqlite":
        with open_site(privacy_settings(tmp_path), SqliteStore(tmp_path / "site.db"), InMemoryEventBus()) as opened:
            yield opened
        return
    url = request.getfixturevalue("redis_url")
    with open_site(privacy_settings(tmp_path, store_url=url), RedisStore(url), RedisEventBus(url)) as opened:
        yield opened
