"""Fixtures: the app on the scripted engine with two users, A (the caller) and B (whose data must stay out of
reach), each with conversations, a ticket and an FAQ candidate; plus helpers to enumerate the app's routes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from storage.bus import InMemoryEventBus
from storage.sqlite import SqliteStore
from tests.privacy.conftest import REFUND, Site, bearer, open_site, privacy_settings

B_MARKER = "蓝色鲸鱼-b0b5ecret"
B_USER = "u-bob-7c1e"
B_NAME = "鲍勃同学"


@dataclass
class Victim:
    """User B's resources: what A must never read or change."""

    conversation: dict[str, Any]
    message_id: str
    ticket_id: str
    open_ticket_id: str
    candidate_id: str

    @property
    def conversation_id(self) -> str:
        return str(self.conversation["conversation_id"])

    def ids(self) -> dict[str, str]:
        """Path and body values that point at B's resources, by parameter name."""
        return {
            "conversation_id": self.conversation_id,
            "ticket_id": self.ticket_id,
            "candidate_id": self.candidate_id,
            "user_id": B_USER,
            "message_id": self.message_id,
            "after": self.message_id,
        }


@dataclass
class World:
    """The site, A's credentials and B's resources."""

    site: Site
    a_conversation: dict[str, Any]
    a_jwt: dict[str, str]
    b: Victim

    def a_credentials(self) -> dict[str, dict[str, str]]:
        """Everything A could present: nothing, their conversation token, their platform JWT."""
        return {"none": {}, "a-conversation": bearer(self.a_conversation["token"]), "a-jwt": self.a_jwt}


def make_victim(site: Site) -> Victim:
    """B talks, gets an answer, is helped by an advisor (FAQ candidate), then waits for another."""
    conv = site.start(B_USER, B_NAME)
    answered = site.say(conv, text=f"{REFUND} {B_MARKER}")
    ticket = site.hand_off(conv)
    site.agent_call("POST", f"/v1/handoff/tickets/{ticket}/claim")
    site.agent_call("POST", f"/v1/handoff/tickets/{ticket}/messages", json={"text": f"好的 {B_MARKER}"})
    resolution = {"add_to_kb": True, "kb_question": f"{B_MARKER}?", "kb_answer": "答案"}
    candidate = site.agent_call("POST", f"/v1/handoff/tickets/{ticket}/resolve", json=resolution)["candidate"]
    waiting = site.start(B_USER, B_NAME)
    site.say(waiting, text=f"还有问题 {B_MARKER}")
    open_ticket = site.hand_off(waiting)
    return Victim(conv, answered["message_id"], ticket, open_ticket, candidate["id"])


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with open_site(privacy_settings(tmp_path), SqliteStore(tmp_path / "w.db"), InMemoryEventBus()) as site:
        victim = make_victim(site)
        mine = site.start("u-alice-3f9d", "爱丽丝")
        site.say(mine, text="你好")
        yield World(site, mine, site.user("u-alice-3f9d", "爱丽丝"), victim)


def route_table(app: FastAPI) -> list[Any]:
    """Every HTTP and WebSocket route the app serves (routers included lazily by newer FastAPI, too)."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # FastAPI before lazily included routers
        return list(app.routes)
    return list(iter_route_contexts(app.routes))


def leaks(text: str) -> list[str]:
    """B's personal data found in a response body."""
    return [trace for trace in (B_MARKER, B_USER, B_NAME) if trace in text]


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    """The app on an SQLite file, default settings."""
    with open_site(privacy_settings(tmp_path), SqliteStore(tmp_path / "s.db"), InMemoryEventBus()) as opened:
        yield opened
