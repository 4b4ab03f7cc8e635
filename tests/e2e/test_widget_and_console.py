"""End to end in real Chromium: a user chats in the widget, an advisor answers from the console, live."""

from __future__ import annotations

from typing import Any

import pytest

from handoff.wiring import handoff_service
from tests.e2e.conftest import AGENT_PASSWORD, LiveApp

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def _bot_texts(page: Any) -> list[str]:
    return [t.strip() for t in page.locator('.zx-msg[data-role="bot"] .zx-b').all_inner_texts()]


def test_user_asks_picks_a_quick_reply_and_an_advisor_answers_live(live_app: LiveApp, browser: Any) -> None:
    from playwright.sync_api import expect

    runtime = live_app.app.state.runtime
    handoff_service(runtime).agents.create("li.lei", AGENT_PASSWORD, role="agent", display_name="李老师")

    context = browser.new_context(locale="zh-CN")
    user = context.new_page()
    errors: list[str] = []
    user.on("pageerror", lambda exc: errors.append(str(exc)))
    user.set_default_timeout(15_000)
    user.goto(live_app.url + "/")
    user.get_by_test_id("zx-open").click()

    # An FAQ question typed the way users type: the curated answer comes back.
    user.get_by_test_id("zx-input").fill("会员自动续费怎么关掉啊")
    user.get_by_test_id("zx-input").press("Enter")
    expect(user.locator('.zx-msg[data-role="bot"][data-action]').first).to_be_visible()

    # A vague request gets a question back with quick replies; picking one answers it.
    user.get_by_test_id("zx-input").fill("我要退款")
    user.get_by_test_id("zx-input").press("Enter")
    quick = user.get_by_test_id("zx-quick-replies").last
    expect(quick).to_be_visible()
    quick.get_by_role("button", name="会员").click()
    expect(user.locator('.zx-msg[data-role="bot"]').last).to_contain_text("7天")

    # The person button hands off; the user sees the queue notice.
    user.get_by_test_id("zx-human").click()
    expect(user.locator('.zx-msg[data-role="system"]').last).to_contain_text("顾问")

    # The advisor logs in, sees the ticket, claims it and replies.
    agent = context.new_page()
    agent.set_default_timeout(15_000)
    agent.goto(live_app.url + "/console")
    agent.get_by_test_id("login-username").fill("li.lei")
    agent.get_by_test_id("login-password").fill(AGENT_PASSWORD)
    agent.get_by_test_id("login-submit").click()
    expect(agent.get_by_test_id("connection")).to_contain_text("Live")
    agent.get_by_test_id("ticket-card").first.click()
    expect(agent.get_by_test_id("transcript")).to_contain_text("我要退款")
    agent.get_by_test_id("claim").click()
    expect(user.locator('.zx-msg[data-role="system"]').last).to_contain_text("李老师")
    agent.get_by_test_id("reply-input").fill("您好，我是李老师，会员退款我来帮您处理。")
    agent.get_by_test_id("reply-send").click()

    # The widget shows the advisor's reply live, without a reload.
    expect(user.locator('.zx-msg[data-role="agent"]')).to_contain_text("我是李老师")
    assert not errors, errors
    context.close()
