"""WeChat's retries (same MsgId up to 3 times) make exactly one turn; slow answers go out via the CS API."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from httpx import Response

from knowledge_base.models import FaqEntry
from tests.channels.conftest import ChannelsApp
from tests.channels.fakes import FakeWeChatApi, event_xml, reply_content


def _concurrently(*calls: Callable[[], Response]) -> list[Response]:
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], Response]) -> Response:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def _bot_messages(app: ChannelsApp, openid: str) -> list[str]:
    [conversation] = app.runtime.components["services"].chat.repo.list_for_user(f"wechat:{openid}")
    return [m.text for m in app.runtime.store.list_messages(conversation.id) if m.role == "bot"]


def test_sequential_retries_make_one_turn_and_get_the_same_reply(app: ChannelsApp) -> None:
    replies = [app.say("课程怎么退款", openid="o-retry", msg_id=6001) for _ in range(3)]
    assert app.engine.turns == 1
    contents = {reply_content(r.text)[1] for r in replies}
    assert len(contents) == 1
    assert "7天内" in contents.pop()
    assert len(_bot_messages(app, "o-retry")) == 1


def test_concurrent_retries_make_one_turn(app: ChannelsApp) -> None:
    app.engine.delay = 0.2  # the copies arrive while the first is still being answered
    replies = _concurrently(*[lambda: app.say("课程怎么退款", openid="o-race", msg_id=6002)] * 3)
    assert app.engine.turns == 1
    assert len(_bot_messages(app, "o-race")) == 1
    assert all(r.status_code == 200 for r in replies)
    assert {reply_content(r.text)[1] for r in replies} == {_bot_messages(app, "o-race")[0]}


def test_retries_across_two_workers_make_one_turn(make_app: Callable[..., ChannelsApp]) -> None:
    first, second = make_app(db="shared.db"), make_app(db="shared.db")
    first.engine.delay = second.engine.delay = 0.2
    _concurrently(
        lambda: first.say("课程怎么退款", openid="o-two", msg_id=6003),
        lambda: second.say("课程怎么退款", openid="o-two", msg_id=6003),
        lambda: first.say("课程怎么退款", openid="o-two", msg_id=6003),
    )
    assert first.engine.turns + second.engine.turns == 1


def test_distinct_messages_are_each_answered(app: ChannelsApp) -> None:
    app.say("课程怎么退款", openid="o-two-msgs", msg_id=6101)
    app.say("课程怎么退款", openid="o-two-msgs", msg_id=6102)
    assert app.engine.turns == 2


def test_repeated_event_is_handled_once(app: ChannelsApp) -> None:
    first = app.wechat(event_xml("subscribe", openid="o-sub", at=1_700_000_500))
    again = app.wechat(event_xml("subscribe", openid="o-sub", at=1_700_000_500))
    assert reply_content(first.text) == reply_content(again.text)


def test_slow_answer_is_delivered_through_the_customer_service_api(make_app: Callable[..., ChannelsApp]) -> None:
    app = make_app(wechat_reply_budget_seconds=0.3)
    app.engine.delay = 1.0
    started = time.monotonic()
    response = app.say("课程怎么退款", openid="o-slow", msg_id=6201)
    assert time.monotonic() - started < 0.9  # answered within the budget, long before the engine finished
    assert (response.status_code, response.text) == (200, "success")
    # WeChat retries meanwhile: no second turn, no passive duplicate.
    retry = app.say("课程怎么退款", openid="o-slow", msg_id=6201)
    assert retry.text == "success"
    [send] = app.server.wait_for(FakeWeChatApi.SEND_PATH)
    assert send.json()["touser"] == "o-slow"
    assert send.json()["msgtype"] == "text"
    assert "7天内" in send.json()["text"]["content"]
    assert app.engine.turns == 1
    late = app.say("课程怎么退款", openid="o-slow", msg_id=6201)  # a retry after the late answer went out
    assert late.text == "success"
    assert len(app.wechat_api.sends()) == 1


def test_slow_handoff_sends_the_answer_and_the_queue_notice_together(make_app: Callable[..., ChannelsApp]) -> None:
    app = make_app(wechat_reply_budget_seconds=0.2)
    app.engine.delay = 0.6
    assert app.say("转人工", openid="o-slow-human", msg_id=6301).text == "success"
    [send] = app.server.wait_for(FakeWeChatApi.SEND_PATH)
    content = send.json()["text"]["content"]
    assert "转接人工客服" in content
    assert "您是下一位" in content  # the queue notice rides along instead of a second push


def test_too_long_for_a_passive_reply_goes_out_in_parts(app: ChannelsApp) -> None:
    long_answer = "这是一段很长的说明。\n" * 150  # about 4,500 bytes
    app.engine.kb.entries["refund-course"] = FaqEntry("refund-course", "课程怎么退款", long_answer.strip(), "refund")
    assert app.say("课程怎么退款", openid="o-long", msg_id=6501).text == "success"
    sends = app.server.wait_for(FakeWeChatApi.SEND_PATH, 3)
    assert all(len(s.json()["text"]["content"].encode()) <= 2000 for s in sends)
    assert "".join(s.json()["text"]["content"] for s in sends).replace("\n", "") == long_answer.replace("\n", "")
