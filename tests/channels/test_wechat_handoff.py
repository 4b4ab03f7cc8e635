"""A WeChat conversation handed to an advisor: the console sees it, replies reach WeChat, the 48-hour rule holds."""

from __future__ import annotations

import time
from collections.abc import Callable

from pydantic import SecretStr

from tests.channels.conftest import ChannelsApp
from tests.channels.fakes import FakeWeChatApi, reply_content
from tests.handoff.conftest import bearer


def _hand_off(app: ChannelsApp, openid: str) -> tuple[str, str]:
    """The follower asks for a person; returns (ticket id, agent token) after the agent claimed it."""
    _, passive, _ = reply_content(app.say("转人工", openid=openid).text)
    assert "转接人工客服" in passive
    token = app.agent_token()
    [ticket] = app.client.get("/v1/handoff/tickets", headers=bearer(token)).json()["tickets"]
    assert ticket["channel"] == "wechat"
    claimed = app.client.post(f"/v1/handoff/tickets/{ticket['id']}/claim", headers=bearer(token))
    assert claimed.status_code == 200, claimed.text
    return ticket["id"], token


def test_wechat_user_reaches_an_advisor_and_gets_the_reply_in_wechat(app: ChannelsApp) -> None:
    _, passive, _ = reply_content(app.say("转人工", openid="o-human").text)
    # The queue notice rides on the passive reply instead of a separate push.
    assert "转接人工客服" in passive
    assert "已为您转接学习顾问，您是下一位" in passive
    assert app.wechat_api.sends() == []

    token = app.agent_token()
    [ticket] = app.client.get("/v1/handoff/tickets", headers=bearer(token)).json()["tickets"]
    assert (ticket["channel"], ticket["user_id"]) == ("wechat", "wechat:o-human")
    assert app.client.post(f"/v1/handoff/tickets/{ticket['id']}/claim", headers=bearer(token)).status_code == 200
    [joined] = app.server.wait_for(FakeWeChatApi.SEND_PATH)
    assert joined.json()["touser"] == "o-human"
    assert "王老师" in joined.json()["text"]["content"]

    # While the advisor has the conversation, the follower's messages go to them (no bot reply).
    relayed = app.say("我的订单号是 123456", openid="o-human")
    assert relayed.text == "success"
    detail = app.client.get(f"/v1/handoff/tickets/{ticket['id']}", headers=bearer(token)).json()
    assert "我的订单号是 123456" in [m["text"] for m in detail["transcript"] if m["role"] == "user"]

    text = "您好，订单 123456 的退款已为您提交，3-5 个工作日到账。"
    sent = app.client.post(f"/v1/handoff/tickets/{ticket['id']}/messages", json={"text": text}, headers=bearer(token))
    assert sent.status_code == 201, sent.text
    sends = app.server.wait_for(FakeWeChatApi.SEND_PATH, 2)
    assert sends[1].json() == {"touser": "o-human", "msgtype": "text", "text": {"content": f"王老师：{text}"}}

    resolved = app.client.post(f"/v1/handoff/tickets/{ticket['id']}/resolve", json={}, headers=bearer(token))
    assert resolved.status_code == 200
    assert len(app.server.wait_for(FakeWeChatApi.SEND_PATH, 3)) == 3
    # Back with the bot: the next question gets a passive answer again.
    assert "7天内" in reply_content(app.say("课程怎么退款", openid="o-human").text)[1]


def test_reply_after_48_hours_is_refused_before_calling_wechat(app: ChannelsApp) -> None:
    ticket_id, token = _hand_off(app, "o-quiet")
    calls_before = len(app.server.calls)
    window = app.runtime.components["wechat"].window
    window.clock = lambda: time.time() + 49 * 3600  # the follower's last message is now 49 hours old

    refused = app.client.post(
        f"/v1/handoff/tickets/{ticket_id}/messages", json={"text": "还在吗？"}, headers=bearer(token)
    )
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "wechat_window_closed"
    assert "48 hours" in error["message"]
    assert "WeChat does not allow replies now" in error["message"]
    assert len(app.server.calls) == calls_before  # WeChat was never called
    detail = app.client.get(f"/v1/handoff/tickets/{ticket_id}", headers=bearer(token)).json()
    assert "还在吗？" not in [m["text"] for m in detail["transcript"]]

    window.clock = time.time  # the follower writes again: the window reopens
    app.say("我回来了", openid="o-quiet")
    again = app.client.post(
        f"/v1/handoff/tickets/{ticket_id}/messages", json={"text": "欢迎回来"}, headers=bearer(token)
    )
    assert again.status_code == 201
    assert app.wechat_api.texts()[-1] == "王老师：欢迎回来"


def test_without_the_app_secret_replies_are_refused_clearly(make_app: Callable[..., ChannelsApp]) -> None:
    app = make_app(wechat_app_secret=SecretStr(""))
    ticket_id, token = _hand_off(app, "o-nosecret")
    refused = app.client.post(f"/v1/handoff/tickets/{ticket_id}/messages", json={"text": "你好"}, headers=bearer(token))
    assert refused.status_code == 503
    assert "ASSISTANT_WECHAT_APP_SECRET" in refused.json()["error"]["message"]


def test_web_conversations_are_untouched_by_the_window(app: ChannelsApp) -> None:
    conv = app.client.post("/v1/conversations").json()
    auth = {"Authorization": f"Bearer {conv['token']}"}
    app.client.post(
        f"/v1/conversations/{conv['conversation_id']}/messages", json={"quick_reply": "handoff"}, headers=auth
    )
    token = app.agent_token()
    [ticket] = app.client.get("/v1/handoff/tickets", headers=bearer(token)).json()["tickets"]
    app.client.post(f"/v1/handoff/tickets/{ticket['id']}/claim", headers=bearer(token))
    sent = app.client.post(f"/v1/handoff/tickets/{ticket['id']}/messages", json={"text": "你好"}, headers=bearer(token))
    assert sent.status_code == 201
    assert app.wechat_api.sends() == []
