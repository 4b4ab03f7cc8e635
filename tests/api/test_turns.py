"""A turn's JSON, built without pydantic on the hot path, is exactly what the documented `TurnResponse` gives."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from api.schemas import TurnResponse
from tests.api.test_chat_api import say, start
from tests.dialogue.fakes import FakeIntents


def _same_as_schema(body: dict[str, Any]) -> None:
    assert TurnResponse.model_validate(body).model_dump(mode="json") == body


def test_every_kind_of_turn_matches_the_documented_schema(client: TestClient, fake_intents: FakeIntents) -> None:
    fake_intents.script("你好", "greeting", 0.95)
    conv = start(client)
    bodies = [
        say(client, conv, text="课程怎么退款").json(),  # an answer with sources and an intent
        say(client, conv, text="你们有线下课吗").json(),  # a fallback
        say(client, conv, text="你好").json(),  # smalltalk
        say(client, conv, quick_reply="handoff").json(),  # a handoff with its ticket
        say(client, conv, text="还在吗").json(),  # relayed to the advisors: no reply
    ]
    assert [b["action"] for b in bodies] == ["answer", "fallback", "smalltalk", "handoff", "relay"]
    for body in bodies:
        _same_as_schema(body)
    assert bodies[3]["handoff"]["ticket_id"]
    assert bodies[4]["reply"] is None


def test_the_openapi_document_still_names_the_turn_schema(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"]["/v1/conversations/{conversation_id}/messages"]["post"]
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/TurnResponse"}
