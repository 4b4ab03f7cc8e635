"""Fuzzing the app against its own OpenAPI schema (schemathesis): no input, valid or not, causes a server error."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.python.asgi import ASGIClient

from storage.bus import InMemoryEventBus
from storage.sqlite import SqliteStore
from tests.handoff.conftest import fast_hasher
from tests.privacy.conftest import Site, bearer, open_site, privacy_settings

pytestmark = pytest.mark.slow
BASE_URL = "http://testserver"
EXAMPLES = 8  # per operation, per generation mode, per credential set: ~1,600 requests in all
# Without a loaded knowledge base (this app runs a scripted engine) these answer 503 by design.
NEEDS_REAL_KB = (
    "/v1/kb/status",
    "/v1/kb/search",
    "/v1/kb/reload",
    "/v1/kb/rollback",
    "/v1/kb/rebuild",
    "/v1/kb/sources",
)


@dataclass
class Target:
    """The fuzzed app, its schema, and real resources an authorised caller may point at."""

    site: Site
    schema: Any
    user_jwt: dict[str, str]
    conversation: dict[str, Any]
    ids: dict[str, str]

    def credentials(self, path: str) -> tuple[dict[str, str], dict[str, str]]:
        """The headers an authorised caller of `path` sends, and real path parameters for it."""
        if path.startswith("/v1/conversations/{"):
            return bearer(self.conversation["token"]), {"conversation_id": self.conversation["conversation_id"]}
        if path.startswith(("/v1/me", "/v1/conversations")):
            return self.user_jwt, {}
        return self.site.admin, {k: v for k, v in self.ids.items() if "{" + k + "}" in path}


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    tmp = tmp_path_factory.mktemp("fuzz")
    unlimited = 10**9
    settings_ = privacy_settings(
        tmp,
        rate_limit_user_per_minute=unlimited,
        rate_limit_ip_per_minute=unlimited,
        rate_limit_webhook_ip_per_minute=unlimited,
    )
    with open_site(settings_, SqliteStore(tmp / "fuzz.db"), InMemoryEventBus()) as site:
        components = site.runtime.components
        components["webhook_dispatcher"].stop()  # registered webhooks must never be called: no network
        components["kb_publish"] = lambda entries: "v-fuzz"
        site.handoff.agents.hasher = fast_hasher()
        conversation = site.start("u-fuzz", "模糊测试")
        site.say(conversation, text="课程怎么退款")
        ticket = site.hand_off(conversation)
        site.agent_call("POST", f"/v1/handoff/tickets/{ticket}/claim")
        ids = {"ticket_id": ticket, "user_id": "u-fuzz", "channel": "crm"}
        # The schema as the app serves it at /openapi.json; `from_asgi` would start a second lifespan of the app
        # (a second runtime on the same store, closed behind our back), so it is read through our own client.
        schema = schemathesis.openapi.from_dict(site.client.get("/openapi.json").json())
        yield Target(site, schema, site.user("u-fuzz"), conversation, ids)


def _operations(target: Target) -> list[Any]:
    return [result.ok() for result in target.schema.get_all_operations()]


def _fuzz(
    session: ASGIClient,
    operation: Any,
    mode: GenerationMode,
    headers: dict[str, str],
    path_parameters: dict[str, str],
) -> int:
    strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_parameters or None)
    calls = 0

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case: Any) -> None:
        nonlocal calls
        calls += 1
        response = case.call(base_url=BASE_URL, session=session, headers=headers)
        case.validate_response(response, checks=[not_a_server_error])

    try:
        run()
    except Unsatisfiable:
        if mode is GenerationMode.POSITIVE:
            raise
        # Nothing about this operation can be invalid (no parameters, no body): there is no negative case.
    return calls


@pytest.mark.parametrize("who", ["anonymous", "authorised"])
def test_no_request_causes_a_server_error(target: Target, who: str) -> None:
    calls = 0
    session = ASGIClient(target.site.client.app)  # in-process calls into the app, on its running lifespan

    operations = _operations(target)
    assert len(operations) >= 45
    for operation in operations:
        if who == "authorised" and operation.path.startswith(NEEDS_REAL_KB):
            continue
        headers, path_parameters = target.credentials(operation.path) if who == "authorised" else ({}, {})
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            calls += _fuzz(session, operation, mode, headers, path_parameters)
    assert calls >= len(operations) * 4
