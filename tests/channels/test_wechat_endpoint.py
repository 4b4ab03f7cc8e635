"""The WeChat endpoint on the wire: URL verification, signatures, plain and AES safe mode, message types."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import SecretStr

from assistant.errors import ConfigError
from knowledge_base.models import FaqEntry
from tests.channels.conftest import ChannelsApp
from tests.channels.fakes import (
    OA_ID,
    TOKEN,
    encrypt,
    encrypted_request,
    event_xml,
    media_xml,
    open_encrypted_reply,
    reply_content,
    sha1_signature,
    signed_params,
    text_xml,
)


def test_url_verification_echoes_echostr(app: ChannelsApp) -> None:
    params = {**signed_params(), "echostr": "7264551826583271921"}
    response = app.client.get("/channels/wechat", params=params)
    assert response.status_code == 200
    assert response.text == "7264551826583271921"
    forged = {**params, "signature": sha1_signature("wrong-token", params["timestamp"], params["nonce"])}
    assert app.client.get("/channels/wechat", params=forged).status_code == 403


def test_text_message_gets_a_passive_faq_answer(app: ChannelsApp) -> None:
    response = app.say("课程怎么退款", openid="o-alice")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    kind, content, to_user = reply_content(response.text)
    assert (kind, to_user) == ("text", "o-alice")
    assert "7天内" in content
    # The conversation is a `wechat` one, owned by the platform user `wechat:<openid>`.
    [conversation] = app.runtime.components["services"].chat.repo.list_for_user("wechat:o-alice")
    assert (conversation.channel, conversation.external_id) == ("wechat", "o-alice")


def test_follow_up_messages_share_one_conversation(app: ChannelsApp) -> None:
    app.say("课程怎么退款", openid="o-bob")
    app.say("退款多久到账", openid="o-bob")
    [conversation] = app.runtime.components["services"].chat.repo.list_for_user("wechat:o-bob")
    roles = [m.role for m in app.runtime.store.list_messages(conversation.id)]
    assert roles == ["user", "bot", "user", "bot"]


def test_quick_replies_become_numbered_options_the_user_can_type(app: ChannelsApp) -> None:
    _, content, _ = reply_content(app.say("我要退款").text)
    assert "1. 课程" in content
    assert "2. 会员" in content
    _, answer, _ = reply_content(app.say("2").text)
    assert "会员开通后48小时内" in answer


FORGERIES: dict[str, Callable[[dict[str, str]], dict[str, str]]] = {
    "wrong token": lambda p: {**p, "signature": sha1_signature("not-the-token", p["timestamp"], p["nonce"])},
    "signature of another nonce": lambda p: {**p, "nonce": p["nonce"] + "x"},
    "tampered timestamp": lambda p: {**p, "timestamp": str(int(p["timestamp"]) - 1)},
    "missing signature": lambda p: {k: v for k, v in p.items() if k != "signature"},
    "empty query": lambda p: {},
    "upper-case hex": lambda p: {**p, "signature": p["signature"].upper()},
    "stale (10 minutes old)": lambda p: signed_params(timestamp=int(time.time()) - 600),
    "from the future": lambda p: signed_params(timestamp=int(time.time()) + 600),
    "non-numeric timestamp": lambda p: {
        **p,
        "timestamp": "soon",
        "signature": sha1_signature(TOKEN, "soon", p["nonce"]),
    },
}


@pytest.mark.parametrize("forgery", sorted(FORGERIES))
def test_forged_or_stale_signatures_are_rejected(app: ChannelsApp, forgery: str) -> None:
    params = FORGERIES[forgery](signed_params())
    response = app.wechat(text_xml("课程怎么退款", msg_id=99), params=params)
    assert response.status_code == 403
    assert app.engine.turns == 0


def test_safe_mode_round_trip(app: ChannelsApp) -> None:
    response = app.say_encrypted("课程怎么退款", msg_id=777)
    assert response.status_code == 200
    inner = open_encrypted_reply(response.text)
    kind, content, to_user = reply_content(inner)
    assert (kind, to_user) == ("text", "o-user-1")
    assert "7天内" in content


@pytest.mark.parametrize("forgery", ["msg_signature", "ciphertext", "appid"])
def test_safe_mode_forgeries_are_rejected(app: ChannelsApp, forgery: str) -> None:
    params, body = encrypted_request(text_xml("课程怎么退款", msg_id=778))
    if forgery == "msg_signature":
        params["msg_signature"] = sha1_signature("x", params["timestamp"], params["nonce"])
    elif forgery == "ciphertext":
        other = encrypt(text_xml("转人工", msg_id=778))
        body = f"<xml><ToUserName><![CDATA[{OA_ID}]]></ToUserName><Encrypt><![CDATA[{other}]]></Encrypt></xml>"
    else:
        other = encrypt(text_xml("课程怎么退款", msg_id=778), app_id="wx-someone-else")
        params["msg_signature"] = sha1_signature(TOKEN, params["timestamp"], params["nonce"], other)
        body = f"<xml><ToUserName><![CDATA[{OA_ID}]]></ToUserName><Encrypt><![CDATA[{other}]]></Encrypt></xml>"
    assert app.client.post("/channels/wechat", params=params, content=body.encode()).status_code == 403
    assert app.engine.turns == 0


BOMB = (
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
    '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
)


@pytest.mark.parametrize(
    "body",
    [
        BOMB + text_xml("&c;").replace("<![CDATA[&c;]]>", "&c;"),
        '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]>' + text_xml("x"),
        "<!DOCTYPE xml><xml><MsgType>text</MsgType></xml>",
        "<xml><unclosed>",
        "not xml at all",
    ],
    ids=["entity-expansion", "external-entity", "doctype", "malformed", "garbage"],
)
def test_unsafe_or_malformed_xml_is_refused_before_parsing(app: ChannelsApp, body: str) -> None:
    response = app.wechat(body)
    assert response.status_code == 400
    assert app.engine.turns == 0


def test_encrypted_payload_with_a_doctype_is_refused(app: ChannelsApp) -> None:
    inner = '<!DOCTYPE xml [<!ENTITY e "boom">]>' + text_xml("课程怎么退款", msg_id=5)
    params, body = encrypted_request(inner)
    assert app.client.post("/channels/wechat", params=params, content=body.encode()).status_code == 400
    assert app.engine.turns == 0


def test_subscribe_gets_the_welcome_and_other_events_nothing(app: ChannelsApp) -> None:
    welcome = app.wechat(event_xml("subscribe", openid="o-new"))
    kind, content, to_user = reply_content(welcome.text)
    assert (kind, to_user) == ("text", "o-new")
    assert content == app.settings.wechat_welcome_text
    click = app.wechat(event_xml("CLICK", key="MENU_1", at=1_700_000_100))
    assert (click.status_code, click.text) == (200, "success")
    unknown = app.wechat(event_xml("some_future_event", at=1_700_000_200))
    assert (unknown.status_code, unknown.text) == (200, "success")
    assert app.engine.turns == 0


@pytest.mark.parametrize(
    ("kind", "extra"),
    [
        ("image", "<PicUrl><![CDATA[http://mmbiz.qpic.cn/x]]></PicUrl><MediaId><![CDATA[m1]]></MediaId>"),
        ("voice", "<MediaId><![CDATA[m2]]></MediaId><Format><![CDATA[amr]]></Format>"),
        (
            "location",
            "<Location_X>23.13</Location_X><Location_Y>113.26</Location_Y><Scale>20</Scale>"
            "<Label><![CDATA[广州]]></Label>",
        ),
        ("link", "<Title><![CDATA[t]]></Title><Description><![CDATA[d]]></Description><Url><![CDATA[http://x]]></Url>"),
        ("file", "<Title><![CDATA[a.pdf]]></Title>"),
    ],
)
def test_other_message_types_are_answered_politely(app: ChannelsApp, kind: str, extra: str) -> None:
    response = app.wechat(media_xml(kind, extra))
    _, content, _ = reply_content(response.text)
    assert "文字" in content
    assert app.engine.turns == 0


def test_voice_with_recognition_is_answered_like_text(app: ChannelsApp) -> None:
    extra = (
        "<MediaId><![CDATA[m3]]></MediaId><Format><![CDATA[amr]]></Format>"
        "<Recognition><![CDATA[课程怎么退款]]></Recognition>"
    )
    _, content, _ = reply_content(app.wechat(media_xml("voice", extra, msg_id=43)).text)
    assert "7天内" in content


def test_not_configured_answers_404_with_a_clear_message(make_app: Callable[..., ChannelsApp]) -> None:
    plain = make_app(wechat_token=SecretStr(""))
    response = plain.wechat(text_xml("hi"))
    assert response.status_code == 404
    assert "ASSISTANT_WECHAT_TOKEN" in response.json()["error"]["message"]
    assert plain.client.get("/channels/wechat", params=signed_params()).status_code == 404


def test_static_user_directory_sets_the_tier(make_app: Callable[..., ChannelsApp], tmp_path: Path) -> None:
    users = tmp_path / "users.json"
    users.write_text('{"o-vip": {"id": "u-42", "tier": "vip", "name": "王同学"}}', encoding="utf-8")
    app = make_app(wechat_users_file=users)
    app.say("课程怎么退款", openid="o-vip")
    app.say("课程怎么退款", openid="o-stranger")
    repo = app.runtime.components["services"].chat.repo
    [vip] = repo.list_for_user("u-42")
    [free] = repo.list_for_user("wechat:o-stranger")
    assert (vip.tier, vip.user_name, free.tier) == ("vip", "王同学", "free")


def test_passive_reply_survives_cdata_terminators(app: ChannelsApp) -> None:
    app.engine.kb.entries["refund-course"] = FaqEntry(
        "refund-course", "课程怎么退款", "答案里有 ]]> 这样的字符", "refund"
    )
    _, content, _ = reply_content(app.wechat(text_xml("课程怎么退款", msg_id=6401)).text)
    assert content == "答案里有 ]]> 这样的字符"


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("wechat_aes_key", SecretStr("too-short"), "43-character EncodingAESKey"),
        ("wechat_app_id", "", "ASSISTANT_WECHAT_APP_ID"),
        ("webhook_secrets", {"wechat": SecretStr("s")}, "built-in channels"),
    ],
)
def test_misconfiguration_fails_at_start_up(
    make_app: Callable[..., ChannelsApp], setting: str, value: object, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        make_app(**{setting: value})
