"""The analytics page in real Chromium against the real app under uvicorn: login, charts, gaps, one-click publish."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from api.runtime import Overrides
from app import create_app
from evals.synthetic_month import TZ, generate, load_content, write
from handoff.agents import AgentDirectory
from storage.bus import InMemoryEventBus
from storage.sqlite import SqliteStore
from tests.analytics.conftest import FakePublisher, scripted_engine, site_settings
from tests.conftest import CHROMIUM, CHROMIUM_ARGS, free_port
from tests.handoff.conftest import PASSWORD, fast_hasher

pytestmark = [pytest.mark.browser, pytest.mark.integration]
CHARTS = ("chart-containment", "chart-reasons", "chart-sla", "chart-csat")


@dataclass
class Server:
    """The base URL and the fake KB publish hook of a running app."""

    url: str
    publisher: FakePublisher


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """A week of synthetic traffic in the store, an admin account, the app on a free loopback port."""
    store = SqliteStore(tmp_path / "site.db")
    week_start = datetime.now(TZ).date() - timedelta(days=6)
    write(store, generate(load_content(), conversations=400, seed=11, start=week_start, days=6))
    directory = AgentDirectory(store, fast_hasher())
    directory.create("boss", PASSWORD, role="admin", display_name="主管")
    directory.create("li.lei", PASSWORD, role="agent", display_name="李老师")
    app = create_app(site_settings(tmp_path), Overrides(store=store, bus=InMemoryEventBus(), engine=scripted_engine()))
    port = free_port()
    instance = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not instance.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    publisher = FakePublisher()
    app.state.runtime.components["kb_publish"] = publisher
    yield Server(f"http://127.0.0.1:{port}", publisher)
    instance.should_exit = True
    thread.join(timeout=10)


def _chart_data(page: Any, testid: str) -> list[float]:
    script = """(id) => {
        const chart = window.Chart.getChart(document.querySelector(`[data-testid="${id}"] canvas`));
        return chart ? chart.data.datasets.flatMap((d) => d.data) : null;
    }"""
    data: list[float] | None = page.evaluate(script, testid)
    assert data is not None, f"{testid}: no chart on the canvas"
    return data


def test_admin_opens_analytics_sees_charts_and_publishes_a_gap_answer(server: Server) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            problems: list[str] = []
            page.on("pageerror", lambda exc: problems.append(str(exc)))
            page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
            page.set_default_timeout(15_000)
            page.goto(server.url + "/console")
            page.get_by_test_id("login-username").fill("boss")
            page.get_by_test_id("login-password").fill(PASSWORD)
            page.get_by_test_id("login-submit").click()
            page.get_by_test_id("analytics-link").click()
            expect(page).to_have_url(server.url + "/console/analytics")

            expect(page.get_by_test_id("kpi-conversations")).to_contain_text("400")
            for chart in CHARTS:
                data = _chart_data(page, chart)
                assert sum(data) > 0, f"{chart} has no data: {data}"
                box = page.get_by_test_id(chart).locator("canvas").bounding_box()
                assert box is not None
                assert box["width"] > 100
                assert box["height"] > 100
            assert len(_chart_data(page, "chart-containment")) == 2 * 7  # confirmed + assumed, per day

            gap = page.get_by_test_id("gap").first
            # the first gap mining loads the Chinese segmenter and embeds every query: slow on a loaded machine
            expect(gap.get_by_test_id("gap-title")).not_to_be_empty(timeout=30_000)
            proposal = page.get_by_test_id("proposal").first
            answer = proposal.get_by_test_id("proposal-answer").inner_text()
            proposal.get_by_test_id("publish").click()
            expect(proposal.get_by_test_id("proposal-status")).to_contain_text("Published")
            expect(proposal.get_by_test_id("publish")).to_be_disabled()
            assert [entry.answer for entry in server.publisher.published] == [answer]

            page.get_by_test_id("tier").select_option("vip")
            page.get_by_test_id("apply").click()
            expect(page.get_by_test_id("segments")).not_to_contain_text("会员 Member")
            assert problems == []
        finally:
            browser.close()


def test_the_analytics_page_signs_in_on_its_own_and_shares_the_session_with_the_console(server: Server) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.set_default_timeout(15_000)
            page.goto(server.url + "/console/analytics")

            def sign_in(username: str, password: str) -> None:
                page.get_by_test_id("login-username").fill(username)
                page.get_by_test_id("login-password").fill(password)
                page.get_by_test_id("login-submit").click()

            sign_in("boss", "wrong-password")
            expect(page.get_by_test_id("login-error")).to_contain_text("Wrong username or password")
            sign_in("li.lei", PASSWORD)  # an advisor, not an admin
            expect(page.get_by_test_id("login-error")).to_contain_text("Administrators only")
            expect(page.get_by_test_id("dashboard")).to_be_hidden()

            sign_in("boss", PASSWORD)
            expect(page.get_by_test_id("kpi-conversations")).to_contain_text("400")
            expect(page.get_by_test_id("me")).to_contain_text("boss")

            # One session for both pages: the console opens signed in.
            page.get_by_test_id("back-to-console").click()
            expect(page.get_by_test_id("connection")).to_contain_text("Live")
            expect(page.get_by_test_id("analytics-link")).to_be_visible()

            # A token the server no longer accepts sends the admin back to the sign-in card, saying why.
            page.evaluate("sessionStorage.setItem('zx-agent-token', 'expired.or.revoked')")
            page.goto(server.url + "/console/analytics")
            expect(page.get_by_test_id("login-error")).to_contain_text("Session expired")
            expect(page.get_by_test_id("login-submit")).to_be_visible()
            expect(page.get_by_test_id("dashboard")).to_be_hidden()
            assert errors == []
        finally:
            browser.close()
