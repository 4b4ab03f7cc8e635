"""`GET /metrics` after traffic through the scripted-engine app: the named series, labelled by route template."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from api.metrics import MeteredStore, kb_version
from api.runtime import Overrides
from app import create_app
from storage.bus import InMemoryEventBus
from storage.sqlite import SqliteStore
from tests.analytics.conftest import Site, scripted_engine
from tests.handoff.conftest import isolated_settings

SCRAPE_TOKEN = SecretStr("scrape-token-0123456789")


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def test_metrics_expose_latency_turns_handoffs_queue_and_kb_version(site: Site) -> None:
    answered = site.start("u-a")
    site.say(answered, text="课程怎么退款")
    site.say(answered, text="你们有线下课吗")
    waiting = site.start("u-v", "vip")
    site.say(waiting, quick_reply="handoff")
    site.client.get("/no/such/page/123")
    site.runtime.components["kb_version"] = "v7"

    response = site.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = _samples(response.text)

    route = "/v1/conversations/{conversation_id}/messages"
    count = samples[("assistant_http_request_duration_seconds_count", (("method", "POST"), ("route", route)))]
    assert count == 3
    assert samples[("assistant_http_requests_total", (("method", "POST"), ("route", route), ("status", "200")))] == 3
    assert samples[("assistant_http_requests_total", (("method", "GET"), ("route", "<unmatched>"), ("status", "404")))]
    assert not re.search(r'route="/v1/conversations/[0-9a-f]{32}', response.text)  # no raw ids as labels

    assert samples[("assistant_turns_total", (("action", "answer"),))] == 1
    assert samples[("assistant_turns_total", (("action", "fallback"),))] == 1
    assert samples[("assistant_turns_total", (("action", "handoff"),))] == 1
    assert samples[("assistant_handoffs_total", (("reason", "explicit_request"),))] == 1

    assert samples[("assistant_handoff_queue_length", (("tier", "vip"),))] == 1
    assert samples[("assistant_handoff_queue_length", (("tier", "free"),))] == 0
    assert samples[("assistant_handoff_oldest_wait_seconds", (("tier", "vip"),))] > 0
    assert samples[("assistant_kb_snapshot_info", (("version", "v7"),))] == 1


def test_a_claimed_ticket_leaves_the_queue_gauge(site: Site) -> None:
    conv = site.start("u-v", "member")
    site.say(conv, quick_reply="handoff")
    [ticket] = site.client.get("/v1/handoff/tickets", headers=site.agent).json()["tickets"]
    assert site.client.post(f"/v1/handoff/tickets/{ticket['id']}/claim", headers=site.agent).status_code == 200
    samples = _samples(site.client.get("/metrics").text)
    assert samples[("assistant_handoff_queue_length", (("tier", "member"),))] == 0
    assert ("assistant_kb_snapshot_info", (("version", "v7"),)) not in samples  # no KB loaded: no version


def test_the_store_is_wrapped_once_and_the_kb_version_is_found_where_components_keep_it(site: Site) -> None:
    assert isinstance(site.runtime.store, MeteredStore)

    class Kb:
        version = "v12"

    assert kb_version({"kb": Kb()}) == "v12"
    assert kb_version({"kb_version": lambda: "v3"}) == "v3"
    assert kb_version({}) is None


def test_with_a_scrape_token_metrics_need_it(tmp_path: Path) -> None:
    settings = isolated_settings(tmp_path, store_url=f"sqlite:///{tmp_path / 'm.db'}", metrics_token=SCRAPE_TOKEN)
    overrides = Overrides(store=SqliteStore(tmp_path / "m.db"), bus=InMemoryEventBus(), engine=scripted_engine())
    with TestClient(create_app(settings, overrides)) as client:
        for headers, message in [
            ({}, "Authorization: Bearer"),
            ({"Authorization": "Bearer not-the-token"}, "not valid"),
            ({"Authorization": f"Basic {SCRAPE_TOKEN.get_secret_value()}"}, "Authorization: Bearer"),
        ]:
            refused = client.get("/metrics", headers=headers)
            assert refused.status_code == 401
            assert refused.headers["www-authenticate"] == "Bearer"
            assert refused.json()["error"]["code"] == "unauthorized"
            assert message in refused.json()["error"]["message"]
            assert "assistant_http_requests" not in refused.text

        scraped = client.get("/metrics", headers={"Authorization": f"Bearer {SCRAPE_TOKEN.get_secret_value()}"})
        assert scraped.status_code == 200
        samples = _samples(scraped.text)
        # The refused scrapes were still counted: operators see someone knocking.
        assert samples[("assistant_http_requests_total", (("method", "GET"), ("route", "/metrics"), ("status", "401")))]
        assert client.get("/healthz").status_code == 200  # nothing else asks for the token


def test_without_a_scrape_token_metrics_stay_open(site: Site) -> None:
    assert site.runtime.settings.metrics_token.get_secret_value() == ""
    assert site.client.get("/metrics").status_code == 200
