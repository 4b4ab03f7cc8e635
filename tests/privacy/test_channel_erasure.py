"""Erasure reaches the channels' short-lived keys at once: WeChat dedup results, reply windows and option lists,
webhook idempotency results; nothing waits for a TTL (SQLite and the real Redis)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from assistant.privacy.keys import KEY_LEDGER, KeyLedger
from assistant.retention import purge_expired
from channels.signing import signed_headers
from storage.bus import InMemoryEventBus, RedisEventBus
from storage.ports import Store
from storage.redis import RedisStore
from storage.sqlite import SqliteStore
from tests.channels.fakes import TOKEN, event_xml, signed_params, text_xml
from tests.privacy.conftest import REFUND, WEBHOOK_CHANNEL, WEBHOOK_SECRET, Site, open_site, privacy_settings

OPENID = "o-erase-9c1d77"
OTHER_OPENID = "o-keep-5a2b"
USER = "u-wechat-erase"
NAME = "司马光明"
MARKER = "蓝色海豚-4e8b"


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.integration)])
def wechat_site(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Site]:
    """The app with WeChat on (the follower OPENID is the platform user USER) on each store in turn."""
    users = tmp_path / "wechat_users.json"
    users.write_text(json.dumps({OPENID: {"id": USER, "tier": "vip", "name": NAME}}), encoding="utf-8")
    wechat = {"wechat_token": SecretStr(TOKEN), "wechat_users_file": users, "wechat_api_base": "http://127.0.0.1:9"}
    store: Store
    if request.param == "sqlite":
        settings, store, bus = privacy_settings(tmp_path, **wechat), SqliteStore(tmp_path / "site.db"), None
    else:
        url = request.getfixturevalue("redis_url")
        settings, store, bus = privacy_settings(tmp_path, store_url=url, **wechat), RedisStore(url), RedisEventBus(url)
    with open_site(settings, store, bus or InMemoryEventBus()) as opened:
        yield opened


def _wechat(site: Site, xml: str) -> str:
    response = site.client.post("/channels/wechat", params=signed_params(), content=xml.encode())
    assert response.status_code == 200, response.text
    return response.text


def _webhook(site: Site, user_id: str, thread: str, text: str, key: str) -> dict[str, object]:
    body = json.dumps({"user": {"id": user_id, "name": NAME}, "conversation_id": thread, "text": text}).encode()
    headers = {"Content-Type": "application/json", "Idempotency-Key": key, **signed_headers(WEBHOOK_SECRET, body)}
    response = site.client.post(f"/channels/webhook/{WEBHOOK_CHANNEL}", content=body, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def _talk(site: Site) -> dict[str, object]:
    """The follower subscribes and writes (an answer, a fallback with quick replies); the CRM relays a turn."""
    msg_id = time.time_ns() // 1000
    assert "欢迎" in _wechat(site, event_xml("subscribe", openid=OPENID, at=int(time.time())))
    _wechat(site, text_xml(REFUND, openid=OPENID, msg_id=msg_id))
    _wechat(site, text_xml(f"{MARKER} 你好", openid=OPENID, msg_id=msg_id + 1))
    _wechat(site, text_xml("随便问问", openid=OTHER_OPENID, msg_id=msg_id + 2))
    return _webhook(site, USER, f"crm-{MARKER}", f"{MARKER} 从CRM来的消息", key="idem-4e8b")


def test_erasing_a_user_deletes_their_channel_keys_at_once(wechat_site: Site) -> None:
    site = wechat_site
    relayed = _talk(site)
    export = site.client.get(f"/v1/admin/users/{USER}/data", headers=site.admin).json()
    conversations = [c["id"] for c in export["conversations"]]
    assert len(conversations) == 2  # WeChat and the CRM thread
    assert all(r["kind"] != "key_ledger" for r in export["other_records"])  # bookkeeping, not the user's data
    window = f"wechat:last_in:{OPENID}"
    assert site.store.get_key(window) is not None
    before = site.store.dump_text()
    assert OPENID in before
    assert sum(before.count(c) for c in conversations) > 0

    response = site.client.delete(f"/v1/admin/users/{USER}/data", headers=site.admin)

    assert response.status_code == 200, response.text
    assert response.json()["erased"]["other"] >= 8  # window, options, 3 per WeChat delivery, 3 per webhook call
    assert site.store.get_key(window) is None
    after = site.store.dump_text()
    for trace in (OPENID, USER, NAME, MARKER, str(relayed["message_id"]), *conversations):
        assert trace not in after, f"{trace!r} survived the erasure"
    assert f"wechat:last_in:{OTHER_OPENID}" in after  # another follower's window is untouched

    # The webhook caller's retry no longer gets the erased user's stored first response: it is a new turn.
    again = _webhook(site, USER, f"crm-{MARKER}", f"{MARKER} 从CRM来的消息", key="idem-4e8b")
    assert again["message_id"] != relayed["message_id"]


def test_purging_an_old_conversation_deletes_its_option_list(wechat_site: Site) -> None:
    site = wechat_site
    _talk(site)
    [wechat_conversation] = [
        c["id"]
        for c in site.client.get(f"/v1/admin/users/{USER}/data", headers=site.admin).json()["conversations"]
        if c["channel"] == "wechat"
    ]
    options = f"wechat:options:{wechat_conversation}"
    assert site.store.get_key(options) is not None  # the fallback offered quick replies, answerable by number

    report = purge_expired(site.store, site.runtime.components["privacy"].eraser, days=1, now=time.time() + 3 * 86400)

    assert wechat_conversation in report.conversations
    assert site.store.get_key(options) is None
    assert wechat_conversation not in site.store.dump_text()


def test_the_ledger_forgets_entries_whose_keys_have_expired() -> None:
    store = SqliteStore(":memory:")
    now = [1_000.0]
    ledger = KeyLedger(store, clock=lambda: now[0])
    ledger.record("u1", "window:o1", ["window:o1"], ttl_seconds=None)
    for i in range(3):
        ledger.record("u1", f"gate:{i}", [f"gate:claim:{i}", f"gate:result:{i}"], ttl_seconds=60)
    now[0] += 61
    ledger.record("u1", "gate:3", ["gate:claim:3"], ttl_seconds=60)
    assert sorted(doc_id for kind, doc_id in store.owned("u1") if kind == KEY_LEDGER) == ["gate:3", "window:o1"]
    store.set_key("gate:claim:3", "pending", 60)
    assert ledger.delete_keys("gate:3") == 1
    assert store.get_key("gate:claim:3") is None
