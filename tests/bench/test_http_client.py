"""The benchmark's keep-alive JSON client against a real uvicorn server: one connection, many requests."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from fastapi import FastAPI, Request, Response

from bench.http_client import HttpError, JsonConnection
from evals.server import free_port


@pytest.fixture(scope="module")
def echo_server() -> Iterator[str]:
    app = FastAPI()
    peers: list[object] = []

    @app.post("/echo")
    async def echo(request: Request) -> dict[str, object]:
        peers.append(request.client)
        return {"body": await request.json(), "auth": request.headers.get("authorization"), "peers": len(set(peers))}

    @app.get("/bye")
    def bye() -> Response:
        return Response(b"", headers={"Connection": "close"})

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", log_config=None))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_requests_reuse_one_connection_and_carry_json_and_headers(echo_server: str) -> None:
    async def scenario() -> list[tuple[int, object]]:
        connection = JsonConnection(echo_server)
        try:
            return [
                await connection.request("POST", "/echo", {"text": f"课程怎么退款 {i}"}, {"Authorization": "Bearer t"})
                for i in range(3)
            ]
        finally:
            await connection.close()

    answers = asyncio.run(scenario())
    assert [status for status, _ in answers] == [200, 200, 200]
    assert answers[2][1] == {"body": {"text": "课程怎么退款 2"}, "auth": "Bearer t", "peers": 1}  # one connection


def test_a_closed_connection_is_reopened_and_a_dead_server_is_an_http_error(echo_server: str) -> None:
    async def scenario() -> tuple[int, int]:
        connection = JsonConnection(echo_server)
        try:
            status, _ = await connection.request("GET", "/bye")
            again, _ = await connection.request("POST", "/echo", {})
            return status, again
        finally:
            await connection.close()

    assert asyncio.run(scenario()) == (200, 200)
    with pytest.raises(HttpError):
        asyncio.run(JsonConnection(f"http://127.0.0.1:{free_port()}").request("GET", "/"))
