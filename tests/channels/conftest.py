"""The app with a scripted engine and WeChat configured against a local fake WeChat API on 127.0.0.1."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from pydantic import SecretStr

from api.runtime import Overrides, Runtime
from app import create_app
from assistant.auth import issue_agent_token
from assistant.dialogue import DialogueEngine, parse_flows, parse_policy
from assistant.settings import Settings
from handoff.agents import AgentDirectory
from handoff.service import HandoffService
from storage.bus import InMemoryEventBus
from storage.sqlite import SqliteStore
from tests.api.conftest import wait_ready
from tests.channels.fakes import (
    AES_KEY,
    APP_ID,
    APP_SECRET,
    TOKEN,
    FakeWeChatApi,
    RecordingServer,
    encrypted_request,
    signed_params,
    text_xml,
)
from tests.dialogue.conftest import FLOWS_DOC
from tests.dialogue.fakes import FakeIntents, FakeKB
from tests.handoff.conftest import fast_hasher

SECRET_KEY = "channels-test-secret-0123456789abcdef"
WEBHOOK_SECRET = "crm-webhook-secret-0123456789"


class CountingEngine:
    """The scripted dialogue engine, counting turns and optionally slow (an LLM on a bad day)."""

    def __init__(self, engine: DialogueEngine, kb: FakeKB) -> None:
        self.engine = engine
        self.kb = kb
        self.delay = 0.0
        self.turns = 0
        self._lock = threading.Lock()

    def decide(self, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            self.turns += 1
        if self.delay:
            time.sleep(self.delay)
        return self.engine.decide(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.engine, name)


def scripted_engine() -> CountingEngine:
    """FAQ answers for two questions, `human_agent` for 转人工, business hours all day."""
    kb = FakeKB()
    kb.script("课程怎么退款", [("refund-course", 0.93), ("refund-membership", 0.2)])
    kb.script("退款多久到账", [("refund-arrival", 0.9)])
    intents = FakeIntents()
    intents.script("转人工", "human_agent", 0.97)
    intents.script("我要退款", "refund_request", 0.9)
    policy = parse_policy({"business_hours": {"open": "00:00", "close": "24:00"}}, "policy.yaml")
    return CountingEngine(DialogueEngine(kb, intents, flows=parse_flows(FLOWS_DOC, "flows.yaml"), policy=policy), kb)


@dataclass
class ChannelsApp:
    """A running app and the fake outside world around it."""

    client: TestClient
    server: RecordingServer
    wechat_api: FakeWeChatApi
    engine: CountingEngine
    settings: Settings
    stopped: bool = False

    def stop(self) -> None:
        """Shut the app down (lifespan end: workers stop, the store closes)."""
        if not self.stopped:
            self.stopped = True
            self.client.__exit__(None, None, None)

    @property
    def runtime(self) -> Runtime:
        return self.client.app.state.runtime  # type: ignore[attr-defined,no-any-return]

    @property
    def handoff(self) -> HandoffService:
        return self.runtime.components["handoff"]  # type: ignore[no-any-return]

    def wechat(self, xml: str, *, params: dict[str, str] | None = None) -> Response:
        """POST a plain-mode message with a correct signature (unless `params` says otherwise)."""
        query = params if params is not None else signed_params()
        return self.client.post("/channels/wechat", params=query, content=xml.encode())

    def say(self, content: str, *, openid: str = "o-user-1", msg_id: int | None = None) -> Response:
        """A follower sends a text message."""
        msg_id = msg_id if msg_id is not None else time.time_ns() // 1000
        return self.wechat(text_xml(content, openid=openid, msg_id=msg_id))

    def say_encrypted(self, content: str, *, msg_id: int) -> Response:
        """A follower sends a text message in AES safe mode."""
        params, body = encrypted_request(text_xml(content, msg_id=msg_id))
        return self.client.post("/channels/wechat", params=params, content=body.encode())

    def agent_token(self, username: str = "alice", *, role: str = "agent", name: str = "王老师") -> str:
        """Create a console account and return its bearer token."""
        account = self.handoff.agents.create(username, "correct-horse-battery", role=role, display_name=name)
        return issue_agent_token(account.identity, SECRET_KEY, 3600)


def channel_settings(tmp_path: Path, api_base: str, **overrides: Any) -> Settings:
    """Settings isolated from the environment, with WeChat and one webhook channel configured."""
    values: dict[str, Any] = {
        "data_dir": tmp_path,
        "log_json": False,
        "secret_key": SecretStr(SECRET_KEY),
        "wechat_token": SecretStr(TOKEN),
        "wechat_app_id": APP_ID,
        "wechat_app_secret": SecretStr(APP_SECRET),
        "wechat_aes_key": SecretStr(AES_KEY),
        "wechat_api_base": api_base,
        "webhook_secrets": {"crm": SecretStr(WEBHOOK_SECRET)},
        "webhook_backoff_seconds": 0.05,
        "webhook_max_attempts": 3,
        "webhook_timeout_seconds": 2.0,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def server() -> Iterator[RecordingServer]:
    recording = RecordingServer()
    yield recording
    recording.close()


@pytest.fixture
def make_app(tmp_path: Path, server: RecordingServer) -> Iterator[Callable[..., ChannelsApp]]:
    """Start the app with settings overrides; stopped after the test."""
    stack: list[ChannelsApp] = []
    wechat_api = FakeWeChatApi(server)

    def start(*, db: str | None = None, **overrides: Any) -> ChannelsApp:
        """`db` names the SQLite file: two apps on one file behave like two workers."""
        settings = channel_settings(tmp_path, server.url, **overrides)
        engine = scripted_engine()
        store = SqliteStore(tmp_path / (db or f"channels-{len(stack)}.db"), synchronous="NORMAL")
        overrides_ = Overrides(store=store, bus=InMemoryEventBus(), engine=engine)
        client = TestClient(create_app(settings, overrides_))
        client.__enter__()
        app = ChannelsApp(client, server, wechat_api, engine, settings)
        stack.append(app)
        wait_ready(client)
        # FastAPI builds route handlers lazily under a thread-unsafe `warnings.catch_warnings()`; two apps doing
        # that at once (the two-worker tests) can leak a pydantic warning, an error under pytest. Build them now.
        client.get("/__build_every_route__")
        # Argon2 with tiny costs: the same code path in milliseconds.
        app.runtime.components["handoff"].agents = AgentDirectory(store, fast_hasher())
        return app

    yield start
    for app in reversed(stack):
        app.stop()


@pytest.fixture
def app(make_app: Callable[..., ChannelsApp]) -> ChannelsApp:
    return make_app()
