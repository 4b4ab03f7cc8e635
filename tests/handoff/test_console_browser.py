"""The agents' console in real Chromium against a real uvicorn server: login, queue, packet, reply, live updates."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from tests.conftest import CHROMIUM, CHROMIUM_ARGS, free_port
from tests.handoff.conftest import PASSWORD, World, build_app, isolated_settings

pytestmark = [pytest.mark.browser, pytest.mark.integration]
PAYLOAD = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>我的课程打不开'


@pytest.fixture
def server(world: World, tmp_path: Path) -> Iterator[str]:
    """Serve the handoff routers and the console on a free loopback port."""
    port = free_port()
    app = build_app(world, isolated_settings(tmp_path))
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not instance.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    instance.should_exit = True
    thread.join(timeout=10)


def test_console_login_queue_packet_reply_and_inert_html(server: str, world: World) -> None:
    from playwright.sync_api import expect, sync_playwright

    world.agent("alice", name="王老师")
    conv = world.conversation("vip-user", tier="vip", name="韩梅梅", channel="wechat", said=(PAYLOAD, "订单号 778899"))
    trail = [
        {"text": PAYLOAD, "intent": "course_access", "confidence": 0.42, "action": "clarify", "faq_id": None,
         "kb": [{"id": "faq-017", "question": "课程打不开怎么办？", "score": 0.31}]},
        {"text": "转人工", "intent": "human_agent", "confidence": 0.95, "action": "handoff"},
    ]  # fmt: skip
    ticket = world.service.escalate(conv, reason="low_confidence", trail=trail, agents_available=True)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            problems: list[str] = []
            page.on("pageerror", lambda exc: problems.append(str(exc)))
            page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
            page.set_default_timeout(10_000)
            page.goto(server + "/console")

            page.get_by_test_id("login-username").fill("alice")
            page.get_by_test_id("login-password").fill("wrong-password")
            page.get_by_test_id("login-submit").click()
            expect(page.get_by_test_id("login-error")).to_contain_text("Wrong username or password")
            problems.clear()  # the browser logs the 401 response itself
            page.get_by_test_id("login-password").fill(PASSWORD)
            page.get_by_test_id("login-submit").click()
            expect(page.get_by_test_id("connection")).to_contain_text("Live")

            card = page.get_by_test_id("ticket-card").first
            expect(card.get_by_test_id("tier-badge")).to_have_text("VIP")
            expect(card.get_by_test_id("channel-badge")).to_have_text("wechat")
            expect(card.get_by_test_id("sla")).to_contain_text("剩余")
            card.click()

            packet = page.get_by_test_id("packet")
            expect(page.get_by_test_id("packet-reason")).to_contain_text("Low confidence")
            expect(page.get_by_test_id("packet-summary")).to_contain_text("778899")
            expect(page.get_by_test_id("packet-intents")).to_contain_text("course_access 42%")
            expect(page.get_by_test_id("packet-queries")).to_contain_text("faq-017")
            expect(packet).to_be_visible()

            transcript = page.get_by_test_id("transcript")
            first_user = transcript.locator("[data-role=user]").first
            expect(first_user).to_contain_text('<img src=x onerror="window.__xss=1"><script>')
            assert transcript.locator("img, script").count() == 0
            assert page.evaluate("window.__xss") is None

            page.get_by_test_id("claim").click()
            expect(page.get_by_test_id("ticket-status")).to_contain_text("王老师")
            page.get_by_test_id("reply-input").fill("您好，我是王老师，马上为您处理。")
            page.get_by_test_id("reply-send").click()
            expect(transcript.locator("[data-role=agent]").last).to_contain_text("马上为您处理")
            agent_lines = [m.text for m in world.repo.messages(conv.id) if m.role == "agent"]
            assert agent_lines == ["您好，我是王老师，马上为您处理。"]

            # Live: the user's next message and a new ticket arrive without reloading.
            message = world.repo.append(conv.id, "user", "<b>好的</b>谢谢")
            assert message is not None
            world.service.on_user_message(world.repo.require(conv.id), message)
            expect(transcript.locator("[data-role=user] .msg-text").last).to_have_text("<b>好的</b>谢谢")
            world.service.escalate(world.conversation("member-user", tier="member"), reason="user_request", trail=[],
                                   agents_available=True)  # fmt: skip
            page.get_by_test_id("tab-waiting").click()
            expect(page.get_by_test_id("ticket-card").first.get_by_test_id("tier-badge")).to_have_text("会员")
            assert world.service.tickets.require(ticket.id).first_reply_at is not None
            assert problems == []
        finally:
            browser.close()
