"""Erasure: after `DELETE /v1/me/data` nothing of the user is left in any store, file or queue."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import redis

from storage.bus import InMemoryEventBus, RedisEventBus
from storage.redis import RedisStore
from storage.sqlite import SqliteStore
from tests.conftest import RedisServer
from tests.privacy.conftest import REFUND, Site, bearer, open_site, privacy_settings

MARKER = "紫色长颈鹿-7f3a9c"  # unique text only user A ever sends
PHONE = "13912345678"
NAME = "欧阳娜娜"
USER = "u-erase-me"
OTHER_MARKER = "橙色企鹅-1b2d"


def populate(site: Site, user: str = USER, name: str = NAME, marker: str = MARKER) -> dict[str, Any]:
    """A user with every kind of data: turns, a waiting ticket, a resolved one with notes and an FAQ candidate,
    answer feedback, a conversation through an integration's webhook, and queued outbound webhook deliveries."""
    hook = {"url": "http://127.0.0.1:9/hook", "events": ["message.created", "handoff.created"]}
    if not site.client.get("/v1/webhooks", headers=site.admin).json()["webhooks"]:
        assert site.client.post("/v1/webhooks", json=hook, headers=site.admin).status_code == 201
    waiting = site.start(user, name)
    site.say(waiting, text=f"{marker} 我的手机是{PHONE}")
    answer = site.say(waiting, text=REFUND)
    feedback = {"message_id": answer["message_id"], "rating": "up"}
    posted = site.client.post(
        f"/v1/conversations/{waiting['conversation_id']}/feedback", json=feedback, headers=bearer(waiting["token"])
    )
    assert posted.status_code == 204
    waiting_ticket = site.hand_off(waiting)

    resolved = site.start(user, name)
    site.say(resolved, text=f"课程打不开 {marker}")
    ticket = site.hand_off(resolved)
    site.agent_call("POST", f"/v1/handoff/tickets/{ticket}/claim")
    site.agent_call("POST", f"/v1/handoff/tickets/{ticket}/messages", json={"text": f"{name}您好，已处理"})
    site.agent_call("POST", f"/v1/handoff/tickets/{ticket}/notes", json={"text": f"{name}很着急 {marker}"})
    resolution = {"note": marker, "add_to_kb": True, "kb_question": f"{marker}怎么办", "kb_answer": "重新登录即可。"}
    outcome = site.agent_call("POST", f"/v1/handoff/tickets/{ticket}/resolve", json=resolution)
    assert outcome["candidate"] is not None
    site.say(resolved, text=f"谢谢 {marker}")
    site.webhook_turn(user, f"crm-thread-{marker}", f"{marker} 从CRM来的消息")
    return {"waiting": waiting, "waiting_ticket": waiting_ticket, "resolved": resolved}


def assert_forgotten(text: str) -> None:
    """No trace of the erased user in a store dump or a file."""
    for trace in (MARKER, USER, NAME, PHONE):
        assert trace not in text, f"{trace!r} survived the erasure"


def test_erasure_removes_the_user_from_every_store_and_the_queue(any_site: Site) -> None:
    site = any_site
    mine = populate(site)
    other = site.start("u-keep", "保留用户")
    site.say(other, text=f"{OTHER_MARKER} 请帮忙")
    other_ticket = site.hand_off(other)
    dump = site.store.dump_text()
    assert MARKER in dump
    assert NAME in dump

    response = site.client.delete("/v1/me/data", headers=site.user(USER))

    assert response.status_code == 200, response.text
    erased = response.json()["erased"]
    assert erased["conversations"] == 3
    assert erased["withdrawn_tickets"] == 1
    assert {"ticket", "ticket_open", "kb_candidate", "dialogue_state", "user", "channel_link"} <= set(
        erased["documents"]
    )
    dump = site.store.dump_text()
    assert_forgotten(dump)
    assert OTHER_MARKER in dump
    assert "u-keep" in dump
    # The waiting ticket left the queue: advisors were told, the user behind moved up.
    waiting = site.client.get("/v1/handoff/tickets?status=waiting", headers=site.agent).json()["tickets"]
    assert [t["id"] for t in waiting] == [other_ticket]
    erased_events = site.bus.on("agents", "ticket.erased")
    assert [e["ticket"] for e in erased_events] == [{"id": mine["waiting_ticket"], "status": "erased"}]
    assert site.bus.on(f"conv:{other['conversation_id']}", "queue")[-1]["position"] == 1
    # The old credentials now find nothing.
    conv = mine["waiting"]
    gone = site.client.get(f"/v1/conversations/{conv['conversation_id']}/messages", headers=bearer(conv["token"]))
    assert gone.status_code == 404
    assert site.client.get(f"/v1/admin/users/{USER}/data", headers=site.admin).status_code == 404
    assert site.client.delete(f"/v1/admin/users/{USER}/data", headers=site.admin).status_code == 404


def test_erased_text_is_gone_from_the_sqlite_files(tmp_path: Path) -> None:
    path = tmp_path / "erase.db"
    with open_site(privacy_settings(tmp_path), SqliteStore(path), InMemoryEventBus()) as site:
        populate(site)
        assert MARKER.encode() in path.read_bytes() + Path(f"{path}-wal").read_bytes()
        assert site.client.delete("/v1/me/data", headers=site.user(USER)).status_code == 200
        # While the server runs: the erasure truncated the WAL and secure_delete zeroed the freed pages.
        live = path.read_bytes() + Path(f"{path}-wal").read_bytes()
        assert_forgotten(live.decode("utf-8", errors="replace"))
    assert_forgotten(path.read_bytes().decode("utf-8", errors="replace"))


@pytest.mark.integration
def test_erased_text_is_gone_from_the_redis_append_only_file(
    redis_server: RedisServer, redis_url: str, tmp_path: Path
) -> None:
    settings = privacy_settings(tmp_path, store_url=redis_url)
    with open_site(settings, RedisStore(redis_url), RedisEventBus(redis_url)) as site:
        populate(site)
        assert MARKER.encode() in _aof_bytes(redis_server)
        assert site.client.delete("/v1/me/data", headers=site.user(USER)).status_code == 200
        _wait_for_rewrite(redis_server, redis_url)
        assert_forgotten(_aof_bytes(redis_server).decode("utf-8", errors="replace"))


def _aof_bytes(server: RedisServer) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(server.directory.rglob("*")) if p.is_file())


def _wait_for_rewrite(server: RedisServer, url: str) -> None:
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        info = client.info("persistence")
        idle = not info["aof_rewrite_in_progress"] and not info["aof_rewrite_scheduled"]
        if idle and MARKER.encode() not in _aof_bytes(server):
            break
        time.sleep(0.1)
    client.close()
