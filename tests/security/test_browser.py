"""In real Chromium against a real uvicorn server: HTML and script a user types stay inert text in the widget;
oversized headers are refused by the server without a 5xx."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from api.runtime import Overrides
from app import create_app
from storage.bus import InMemoryEventBus
from storage.sqlite import SqliteStore
from tests.conftest import CHROMIUM, CHROMIUM_ARGS, free_port
from tests.privacy.conftest import privacy_settings, scripted_engine

pytestmark = [pytest.mark.browser, pytest.mark.integration]
PAYLOAD = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The whole app (scripted engine) served by uvicorn on a free loopback port."""
    tmp: Path = tmp_path_factory.mktemp("browser")
    overrides = Overrides(store=SqliteStore(tmp / "b.db"), bus=InMemoryEventBus(), engine=scripted_engine())
    port = free_port()
    config = uvicorn.Config(
        create_app(privacy_settings(tmp), overrides), host="127.0.0.1", port=port, log_level="warning"
    )
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if instance.started and httpx.get(f"{base}/readyz").status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "the server did not become ready"
        time.sleep(0.05)
    yield base
    instance.should_exit = True
    thread.join(timeout=10)


def test_html_a_user_types_into_the_widget_stays_inert_text(server: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            problems: list[str] = []
            page.on("pageerror", lambda exc: problems.append(str(exc)))
            page.set_default_timeout(10_000)
            page.goto(server + "/")
            page.get_by_test_id("zx-open").click()
            page.get_by_test_id("zx-input").fill(PAYLOAD)
            page.get_by_test_id("zx-input").press("Enter")

            log = page.get_by_test_id("zx-log")
            mine = log.locator('[data-role="user"] .zx-b')
            expect(mine).to_have_text(PAYLOAD)  # shown literally, character for character
            expect(log.locator('[data-role="bot"]').last).to_be_visible()
            page.wait_for_timeout(300)  # an injected onerror would fire on the failed image load by now
            assert page.evaluate("window.__xss") is None
            assert log.locator("img, script").count() == 0
            assert page.locator("img[src='x']").count() == 0
            # Reloaded from the server (history), the stored text is just as inert.
            page.reload()
            page.get_by_test_id("zx-open").click()
            expect(page.get_by_test_id("zx-log").locator('[data-role="user"] .zx-b').first).to_have_text(PAYLOAD)
            page.wait_for_timeout(300)
            assert page.evaluate("window.__xss") is None
            assert problems == []
        finally:
            browser.close()


def test_huge_headers_get_a_4xx_and_never_a_server_error(server: str) -> None:
    for headers in ({"X-Filler": "y" * 200_000}, {"Authorization": "Bearer " + "x" * 200_000}):
        try:
            status = httpx.get(f"{server}/v1/me/data", headers=headers, timeout=10).status_code
        except httpx.RemoteProtocolError:
            continue  # the server dropped the connection: refused, nothing served
        assert 400 <= status < 500
    many = {f"X-H{i}": "v" * 100 for i in range(500)}
    try:
        status = httpx.get(f"{server}/healthz", headers=many, timeout=10).status_code
        assert status < 500
    except httpx.RemoteProtocolError:
        pass
