"""Fixtures for the handoff tests: a clock, a recording bus, the service on an in-memory store, the HTTP app."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr

from api import agents as agents_api
from api import handoff as handoff_api
from api import pages
from api.errors import install_error_handlers
from api.runtime import Runtime
from assistant.auth import AgentIdentity, issue_agent_token
from assistant.conversations import Conversation, ConversationRepository
from assistant.settings import Settings
from handoff.agents import AgentDirectory
from handoff.hours import BusinessHours
from handoff.service import HandoffService
from storage.bus import InMemoryEventBus
from storage.ports import JSON, Store
from storage.sqlite import SqliteStore

SECRET = "handoff-test-secret-0123456789abcdef"
PASSWORD = "correct-horse-battery"
T0 = 1_767_240_000.0  # 2026-01-01 12:00 in Shanghai: inside business hours


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class RecordingBus:
    """An in-memory bus that also remembers every published event, for assertions."""

    def __init__(self) -> None:
        self.inner = InMemoryEventBus()
        self.events: list[tuple[str, JSON]] = []
        self._lock = threading.Lock()

    def publish(self, topic: str, event: Mapping[str, Any]) -> None:
        with self._lock:
            self.events.append((topic, dict(event)))
        self.inner.publish(topic, event)

    def subscribe(self, topic: str) -> AsyncIterator[JSON]:
        return self.inner.subscribe(topic)

    def on(self, topic: str, event_type: str | None = None) -> list[JSON]:
        with self._lock:
            return [e for t, e in self.events if t == topic and (event_type is None or e.get("type") == event_type)]


def fast_hasher() -> PasswordHasher:
    """Argon2 with tiny costs: the same code path, milliseconds instead of most of a second."""
    return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def isolated_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Settings isolated from the environment and the developer's .env file."""
    return Settings(_env_file=None, data_dir=tmp_path, secret_key=SecretStr(SECRET), **overrides)  # type: ignore[call-arg]


def make_service(store: Store, bus: Any, clock: FakeClock, **kwargs: Any) -> HandoffService:
    """A HandoffService with the fast hasher and the fake clock."""
    kwargs.setdefault("agents", AgentDirectory(store, fast_hasher()))
    kwargs.setdefault("hours", BusinessHours())
    return HandoffService(store, bus, clock=clock, **kwargs)


@dataclass
class World:
    """The store, bus, clock and service of one test, with helpers to seed users and conversations."""

    store: Store
    bus: RecordingBus
    clock: FakeClock
    service: HandoffService
    repo: ConversationRepository = field(init=False)

    def __post_init__(self) -> None:
        self.repo = ConversationRepository(self.store)

    def conversation(
        self,
        user_id: str = "u1",
        *,
        tier: str = "free",
        name: str = "小明",
        channel: str = "web",
        locale: str | None = "zh",
        said: tuple[str, ...] = ("我买的课程打不开",),
        opt_out: bool = False,
    ) -> Conversation:
        """A conversation in which the user said `said` and the bot answered each line."""
        user = self.repo.ensure_user(user_id, tier=tier, name=name, channel=channel)
        if opt_out:
            user.training_opt_out = True
            self.repo.save_user(user)
        conv = self.repo.create(user, channel=channel)
        conv = self.repo.update(conv.id, locale=locale)
        for text in said:
            self.repo.append(conv.id, "user", text)
            self.repo.append(conv.id, "bot", "抱歉，我没有找到答案。", only_if_mode="bot")
        return conv

    def escalate(self, conv: Conversation, *, available: bool = True, reason: str = "user_request") -> Any:
        """Escalate with a one-turn trail."""
        trail = [{"text": "转人工", "intent": "human_agent", "confidence": 0.97, "action": "handoff"}]
        return self.service.escalate(conv, reason=reason, trail=trail, agents_available=available)

    def agent(self, username: str = "alice", role: str = "agent", name: str = "") -> AgentIdentity:
        """Create a console account; returns its identity."""
        return self.service.agents.create(username, PASSWORD, role=role, display_name=name or username).identity

    def token(self, agent: AgentIdentity) -> str:
        """A bearer token for an agent."""
        return issue_agent_token(agent, SECRET, 3600)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def world(clock: FakeClock) -> Iterator[World]:
    store = SqliteStore(":memory:")
    bus = RecordingBus()
    yield World(store, bus, clock, make_service(store, bus, clock))
    store.close()


def build_app(world: World, settings: Settings, components: dict[str, Any] | None = None) -> FastAPI:
    """An app with just the handoff routers and the console pages, on the world's store and service."""
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(agents_api.router)
    app.include_router(handoff_api.router)
    app.include_router(handoff_api.candidates_router)
    app.include_router(pages.router)
    runtime = Runtime(settings=settings, store=world.store, bus=world.bus)
    runtime.components.update(components or {})
    runtime.components["handoff"] = world.service
    app.state.runtime = runtime
    return app


@pytest.fixture
def client(world: World, tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(build_app(world, isolated_settings(tmp_path))) as test_client:
        yield test_client


def bearer(token: str) -> dict[str, str]:
    """Authorization header."""
    return {"Authorization": f"Bearer {token}"}
