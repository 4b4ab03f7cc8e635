"""The customer-service API client against a local fake of api.weixin.qq.com: tokens, refresh, retries, logs."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from channels.wechat_api import WeChatApiClient, WeChatApiError
from storage.sqlite import SqliteStore
from tests.channels.fakes import APP_ID, APP_SECRET, FakeWeChatApi, RecordingServer
from tests.conftest import free_port


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    opened = SqliteStore(tmp_path / "api.db", synchronous="NORMAL")
    yield opened
    opened.close()


@pytest.fixture
def wechat(server: RecordingServer) -> FakeWeChatApi:
    return FakeWeChatApi(server)


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def client(store: SqliteStore, base: str, sleeps: Sleeps | None = None, **kwargs: object) -> WeChatApiClient:
    return WeChatApiClient(
        store,
        app_id=APP_ID,
        app_secret=APP_SECRET,
        api_base=base,
        backoff=0.1,
        sleep=sleeps if sleeps is not None else Sleeps(),
        **kwargs,  # type: ignore[arg-type]
    )


def test_token_is_fetched_once_and_shared_by_workers(store: SqliteStore, wechat: FakeWeChatApi) -> None:
    first, second = client(store, wechat.server.url), client(store, wechat.server.url)
    first.send_text("o-1", "你好")
    first.send_text("o-1", "再见")
    second.send_text("o-2", "另一个进程")
    assert wechat.issued == 1
    token_call = wechat.server.received(FakeWeChatApi.TOKEN_PATH)[0]
    assert token_call.query == {"grant_type": "client_credential", "appid": APP_ID, "secret": APP_SECRET}
    assert [c.query["access_token"] for c in wechat.server.received(FakeWeChatApi.SEND_PATH)] == ["ACCESS-TOKEN-1"] * 3
    assert wechat.sends()[0] == {"touser": "o-1", "msgtype": "text", "text": {"content": "你好"}}


def test_body_is_utf8_json_not_unicode_escapes(store: SqliteStore, wechat: FakeWeChatApi) -> None:
    client(store, wechat.server.url).send_text("o-1", "退款3-5个工作日到账")
    [call] = wechat.server.received(FakeWeChatApi.SEND_PATH)
    assert "退款".encode() in call.body
    assert call.headers["content-type"].startswith("application/json")


def test_expired_token_is_refreshed_and_the_message_retried(store: SqliteStore, wechat: FakeWeChatApi) -> None:
    api = client(store, wechat.server.url)
    api.send_text("o-1", "第一条")
    wechat.send_script.append((200, {"errcode": 42001, "errmsg": "access_token expired"}))
    api.send_text("o-1", "第二条")
    assert wechat.issued == 2
    sends = wechat.server.received(FakeWeChatApi.SEND_PATH)
    assert [c.query["access_token"] for c in sends] == ["ACCESS-TOKEN-1", "ACCESS-TOKEN-1", "ACCESS-TOKEN-2"]
    assert [c.json()["text"]["content"] for c in sends[1:]] == ["第二条", "第二条"]


@pytest.mark.parametrize("errcode", [40001, 40014])
def test_invalid_token_is_refreshed_too(store: SqliteStore, wechat: FakeWeChatApi, errcode: int) -> None:
    api = client(store, wechat.server.url)
    api.access_token()
    wechat.expire_all()  # WeChat invalidated our token (e.g. someone else asked for a new one)
    if errcode == 40014:
        wechat.send_script.append((200, {"errcode": 40014, "errmsg": "invalid access_token"}))
    api.send_text("o-1", "你好")
    assert wechat.issued == 2


def test_server_errors_and_busy_are_retried_with_exponential_backoff(store: SqliteStore, wechat: FakeWeChatApi) -> None:
    sleeps = Sleeps()
    api = client(store, wechat.server.url, sleeps, attempts=4)
    wechat.send_script += [(502, b"bad gateway"), (200, {"errcode": -1, "errmsg": "system busy"}), (503, b"")]
    api.send_text("o-1", "你好")
    assert len(wechat.server.received(FakeWeChatApi.SEND_PATH)) == 4
    assert sleeps == [0.1, 0.2, 0.4]


def test_network_errors_give_up_after_the_attempts(store: SqliteStore) -> None:
    sleeps = Sleeps()
    api = client(store, f"http://127.0.0.1:{free_port()}", sleeps, attempts=3)
    with pytest.raises(WeChatApiError, match="after 3 attempts"):
        api.access_token()
    assert sleeps == [0.1, 0.2]


def test_refusals_are_not_retried(store: SqliteStore, wechat: FakeWeChatApi) -> None:
    api = client(store, wechat.server.url)
    wechat.send_script.append((200, {"errcode": 45015, "errmsg": "response out of time limit"}))
    with pytest.raises(WeChatApiError) as raised:
        api.send_text("o-1", "你好")
    assert raised.value.errcode == 45015
    assert len(wechat.server.received(FakeWeChatApi.SEND_PATH)) == 1


def test_wrong_app_secret_is_a_clear_error(store: SqliteStore, wechat: FakeWeChatApi) -> None:
    api = WeChatApiClient(store, app_id=APP_ID, app_secret="wrong", api_base=wechat.server.url)
    with pytest.raises(WeChatApiError) as raised:
        api.send_text("o-1", "你好")
    assert raised.value.errcode == 40125


def test_no_secret_or_token_reaches_the_logs(
    store: SqliteStore, wechat: FakeWeChatApi, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    api = client(store, wechat.server.url)
    api.send_text("o-1", "你好")
    wechat.send_script += [(500, b""), (200, {"errcode": 42001, "errmsg": "expired"})]
    api.send_text("o-1", "你好")
    logged = "\n".join(caplog.text.splitlines() + [r.getMessage() for r in caplog.records])
    assert "cgi-bin/token" in logged  # requests are logged…
    assert APP_SECRET not in logged  # …without the AppSecret…
    assert "ACCESS-TOKEN-" not in logged  # …or the access token
