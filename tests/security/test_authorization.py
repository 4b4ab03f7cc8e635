"""Authorisation over every route: A's credentials never reach B's data; tokens of one kind never pass for another;
only admins pass admin routes. Routes come from the app itself, so new endpoints are covered automatically."""

from __future__ import annotations

import re
from typing import Any

import pytest
from starlette.testclient import WebSocketDisconnect

from api.agents import admin_agent
from tests.privacy.conftest import bearer
from tests.security.conftest import B_MARKER, World, leaks, route_table

DENIED = (401, 403, 404)
# Path parameters that name no stored resource get harmless values that still reach the handler.
PATH_VALUES = {"channel": "crm", "filename": "faq.csv"}
# Bodies whose schema alone does not make them valid (exactly one of two optional fields).
BODIES = {"UserMessage": {"text": "你好"}}


def _schema(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def minimal(spec: dict[str, Any], schema: dict[str, Any], ids: dict[str, str], name: str = "") -> Any:
    """The smallest valid value of a JSON schema, with B's ids for fields named like them."""
    if name in ids:
        return ids[name]
    schema = _schema(spec, schema)
    if schema.get("title") in BODIES:
        return BODIES[schema["title"]]
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            options = [o for o in schema[key] if _schema(spec, o).get("type") != "null"]
            return minimal(spec, options[0], ids, name)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        properties = schema.get("properties", {})
        return {p: minimal(spec, properties[p], ids, p) for p in schema.get("required", [])}
    if kind == "array":
        return [minimal(spec, schema.get("items", {}), ids) for _ in range(schema.get("minItems", 0))]
    if kind in ("integer", "number"):
        return schema.get("minimum", 1)
    if kind == "boolean":
        return False
    return "x" * max(1, schema.get("minLength", 1))


def request_parts(world: World, spec: dict[str, Any], path: str, method: str) -> tuple[str, dict[str, Any], Any]:
    """URL, query and JSON body aimed at B's resources."""
    ids = world.b.ids()
    url = re.sub(r"{(\w+)(?::\w+)?}", lambda m: PATH_VALUES.get(m[1], ids.get(m[1], world.b.conversation_id)), path)
    operation = spec["paths"].get(path, {}).get(method.lower(), {})
    query = {
        p["name"]: minimal(spec, p.get("schema", {}), ids, p["name"])
        for p in operation.get("parameters", [])
        if p["in"] == "query" and (p.get("required") or p["name"] in ids)
    }
    content = operation.get("requestBody", {}).get("content", {}).get("application/json")
    body = minimal(spec, content["schema"], ids) if content else None
    return url, query, body


def _b_state(world: World) -> tuple[Any, ...]:
    site, b = world.site, world.b
    return (
        len(site.store.list_messages(b.conversation_id)),
        site.store.get("ticket", b.open_ticket_id)["status"],  # type: ignore[index]
        site.store.get("kb_candidate", b.candidate_id)["status"],  # type: ignore[index]
        site.store.get("user", "u-bob-7c1e") is not None,
    )


def test_a_never_reads_or_changes_bs_data_through_any_http_route(world: World) -> None:
    client = world.site.client
    spec = client.app.openapi()  # type: ignore[attr-defined]
    before = _b_state(world)
    tried: list[tuple[str, str, str, int]] = []
    for route in route_table(client.app):  # type: ignore[arg-type]
        for method in sorted((getattr(route, "methods", None) or set()) - {"HEAD"}):
            url, query, body = request_parts(world, spec, route.path, method)
            for who, headers in world.a_credentials().items():
                response = client.request(method, url, params=query, json=body, headers=headers)
                tried.append((method, route.path, who, response.status_code))
                assert response.status_code < 500, (method, url, who, response.text)
                assert not leaks(response.text), (method, url, who, leaks(response.text))
                if "{" in route.path:
                    assert response.status_code in DENIED, (method, url, who, response.status_code)
    assert len({(m, p) for m, p, _, _ in tried}) >= 60  # every route of the app, not a hand-picked few
    assert _b_state(world) == before


def test_a_never_follows_bs_conversation_live(world: World) -> None:
    client, b = world.site.client, world.b
    websockets = [r.path for r in route_table(client.app) if getattr(r, "methods", None) is None]  # type: ignore[arg-type]
    assert "/v1/conversations/{conversation_id}/ws" in websockets
    for who, headers in world.a_credentials().items():
        token = headers.get("Authorization", "").removeprefix("Bearer ")
        with (
            pytest.raises(WebSocketDisconnect) as closed,
            client.websocket_connect(f"/v1/conversations/{b.conversation_id}/ws?token={token}") as socket,
        ):
            socket.receive_json()
        assert closed.value.code in (4401, 4403), who
        with client.websocket_connect(f"/v1/agents/ws?token={token}") as socket:
            first = socket.receive_json()
            assert first["type"] == "error"
            assert not leaks(str(first))
            with pytest.raises(WebSocketDisconnect) as refused:
                socket.receive_json()
            assert refused.value.code == 4401, who


def test_tokens_of_one_kind_never_pass_for_another(world: World) -> None:
    site = world.site
    conversation = bearer(world.a_conversation["token"])
    for headers in (site.agent, site.admin):  # advisor tokens are not user tokens
        assert site.client.get("/v1/me/data", headers=headers).status_code == 401
        assert site.client.post("/v1/conversations", headers=headers).status_code == 401
        transcript = f"/v1/conversations/{world.b.conversation_id}/messages"
        assert site.client.get(transcript, headers=headers).status_code == 401
    for headers in (world.a_jwt, conversation):  # user and conversation tokens are not advisor tokens
        assert site.client.get("/v1/handoff/tickets", headers=headers).status_code == 401
        assert site.client.get(f"/v1/handoff/tickets/{world.b.ticket_id}", headers=headers).status_code == 401
        assert site.client.get("/v1/agents/me", headers=headers).status_code == 401
    # A conversation token is not a platform JWT, even for the same user.
    assert site.client.get("/v1/me/data", headers=conversation).status_code == 401


def _needs_admin(route: Any) -> bool:
    pending = [getattr(route, "dependant", None)]
    while pending:
        dependant = pending.pop()
        if dependant is None:
            continue
        if dependant.call is admin_agent:
            return True
        pending.extend(dependant.dependencies)
    return False


def test_advisors_who_are_not_admins_get_403_on_every_admin_route(world: World) -> None:
    site = world.site
    spec = site.client.app.openapi()  # type: ignore[attr-defined]
    admin_routes = [r for r in route_table(site.client.app) if _needs_admin(r)]  # type: ignore[arg-type]
    assert len(admin_routes) >= 15
    for route in admin_routes:
        for method in sorted(route.methods - {"HEAD"}):
            url, query, body = request_parts(world, spec, route.path, method)
            response = site.client.request(method, url, params=query, json=body, headers=site.agent)
            assert response.status_code == 403, (method, route.path, response.text)
            assert not leaks(response.text)


def test_a_cannot_point_their_own_conversation_at_bs_messages(world: World) -> None:
    site, mine = world.site, world.a_conversation
    base, headers = f"/v1/conversations/{mine['conversation_id']}", bearer(mine["token"])

    after = site.client.get(f"{base}/messages", params={"after": world.b.message_id}, headers=headers)
    feedback = site.client.post(
        f"{base}/feedback", json={"message_id": world.b.message_id, "rating": "down"}, headers=headers
    )

    assert after.status_code == 404
    assert feedback.status_code == 400
    assert B_MARKER not in after.text + feedback.text
