"""Hostile input: limits, malformed bodies, odd text and rate limits get a clear 4xx or a sensible answer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from storage.bus import InMemoryEventBus
from storage.sqlite import SqliteStore
from tests.privacy.conftest import PASSWORD, Site, bearer, open_site, privacy_settings

JSON = {"Content-Type": "application/json"}


def _post(site: Site, conv: dict[str, Any], body: bytes, content_type: str = "application/json") -> Any:
    headers = {**bearer(conv["token"]), "Content-Type": content_type}
    return site.client.post(f"/v1/conversations/{conv['conversation_id']}/messages", content=body, headers=headers)


def _error(response: Any, status: int) -> str:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"]
    assert error["message"]
    return str(error["message"])


def test_over_long_messages_and_quick_replies_are_refused_with_a_clear_message(site: Site) -> None:
    conv = site.start("u-long")
    assert "too long" in _error(_post(site, conv, json.dumps({"text": "好" * 2001}).encode()), 400)
    assert "too long" in _error(_post(site, conv, json.dumps({"text": "a" * 10_000}).encode()), 400)
    _error(_post(site, conv, json.dumps({"quick_reply": "x" * 201}).encode()), 422)
    assert site.say(conv, text="好" * 2000)["action"] == "fallback"  # the limit itself is fine


def test_bodies_and_uploads_over_the_limit_get_413_before_they_are_read(site: Site) -> None:
    conv = site.start("u-big")
    big = b'{"text": "' + b"a" * 1_000_001 + b'"}'
    assert "exceeds" in _error(_post(site, conv, big), 413)

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit applies while streaming
        yield b'{"text": "'
        for _ in range(20):
            yield b"a" * 100_000
        yield b'"}'

    streamed = site.client.post(
        f"/v1/conversations/{conv['conversation_id']}/messages",
        content=chunks(),
        headers={**bearer(conv["token"]), **JSON},
    )
    _error(streamed, 413)
    upload = site.client.put("/v1/kb/sources/huge.csv", content=b"q,a\n" + b"x" * 10_000_001, headers=site.admin)
    _error(upload, 413)


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b'{"text": ', "application/json", 422),  # truncated JSON
        (b'{"text": "\xff\xfe\xfd"}', "application/json", 400),  # not UTF-8
        (b"[" * 100_000 + b"]" * 100_000, "application/json", 400),  # nesting past the parser's depth
        (b'{"text": "hi", "extra": 1}', "application/json", 422),
        (b'{"text": null, "quick_reply": null}', "application/json", 422),
        (b'{"text": 42}', "application/json", 422),
        (b'{"text": "hi"}', "text/plain", 422),
        (b"<xml><text>hi</text></xml>", "application/xml", 422),
        (b"text=hi", "application/x-www-form-urlencoded", 422),
        (b"", "application/json", 422),
    ],
)
def test_malformed_bodies_get_a_clear_4xx(site: Site, body: bytes, content_type: str, status: int) -> None:
    conv = site.start("u-bad")
    _error(_post(site, conv, body, content_type), status)


def test_odd_but_valid_text_gets_a_sensible_answer(site: Site) -> None:
    for text in (
        "😀🎉👍",
        "\u0007\u001b[31m 课程怎么退款 \u0000",
        "<b>hi</b>' OR 1=1; --",
        "\ud800 hello",
        "ℌ𝔢𝔩𝔩𝔬 ｗｏｒｌｄ",
    ):
        conv = site.start("u-odd")
        turn = _post(site, conv, json.dumps({"text": text}).encode())
        assert turn.status_code == 200, (text, turn.text)
        stored = turn.json()["user_message"]["text"]
        assert "\u0000" not in stored
        assert "\u001b" not in stored
        assert "\ud800" not in stored
        assert turn.json()["reply"]["text"]
    only_controls = _post(site, site.start("u-odd"), json.dumps({"text": "\u0000\u0007"}).encode())
    assert "empty" in _error(only_controls, 400)


def test_odd_ids_and_headers_are_refused_cleanly(site: Site) -> None:
    conv = site.start("u-ids")
    base = f"/v1/conversations/{conv['conversation_id']}"
    auth = bearer(conv["token"])
    assert site.client.get("/v1/conversations/%00%ED%A0%80/messages", headers=auth).status_code == 403
    assert site.client.get(f"{base}/messages", params={"after": "\x00"}, headers=auth).status_code == 404
    feedback = site.client.post(
        f"{base}/feedback", content=b'{"message_id": "\\ud800", "rating": "up"}', headers={**auth, **JSON}
    )
    assert feedback.status_code == 422
    assert site.client.get(f"{base}/messages", headers={"Authorization": "Bearer " + "x" * 100_000}).status_code == 401
    assert site.client.get(f"{base}/messages", headers={"Authorization": "Basic dXNlcjpwYXNz"}).status_code == 401
    assert site.client.get(f"{base}/messages", headers={**auth, "X-Filler": "y" * 100_000}).status_code == 200


@pytest.fixture
def strict(tmp_path: Path) -> Iterator[Site]:
    """A site with tiny rate limits."""
    settings = privacy_settings(
        tmp_path, rate_limit_user_per_minute=3, rate_limit_ip_per_minute=8, rate_limit_webhook_ip_per_minute=2
    )
    with open_site(settings, SqliteStore(tmp_path / "strict.db"), InMemoryEventBus()) as opened:
        yield opened


def _limited(response: Any) -> None:
    _error(response, 429)
    assert int(response.headers["Retry-After"]) >= 1


def test_rate_limits_per_user_and_per_ip_answer_429_with_retry_after(strict: Site) -> None:
    site = strict
    conv = site.start("u-chatty")  # ip: 1
    for _ in range(3):  # ip: 2..4
        site.say(conv, text="你好")
    _limited(_post(site, conv, json.dumps({"text": "你好"}).encode()))  # the user's 4th message in a minute
    # Another user behind the same address: their own budget, but the address's runs out.
    for _ in range(3):  # ip: 6..8
        assert site.client.post("/v1/conversations", headers=site.user("u-neighbour")).status_code == 201
    _limited(site.client.post("/v1/conversations", headers=site.user("u-neighbour")))


def test_privacy_webhook_and_login_endpoints_are_limited_per_ip(strict: Site) -> None:
    site = strict
    for _ in range(8):
        assert site.client.get("/v1/me/preferences", headers=site.user("u-me")).status_code == 200
    _limited(site.client.get("/v1/me/preferences", headers=site.user("u-me")))
    for _ in range(2):  # unsigned: refused, but counted before any work is done
        assert site.client.post("/channels/webhook/crm", content=b"{}", headers=JSON).status_code == 401
    _limited(site.client.post("/channels/webhook/crm", content=b"{}", headers=JSON))
    wrong = {"username": "boss", "password": PASSWORD + "!"}
    for _ in range(10):
        assert site.client.post("/v1/agents/login", json=wrong).status_code == 401
    _limited(site.client.post("/v1/agents/login", json={"username": "boss", "password": PASSWORD}))
