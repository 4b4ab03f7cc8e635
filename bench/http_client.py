"""A minimal keep-alive HTTP/1.1 JSON client for load generation.

The benchmark client shares the 2-core machine with the server it measures: httpx spent about 7 ms of CPU per
request with 64 connections, as much as the server's own turn, so the client capped the figure. This one does only
what the turn benchmark needs (JSON over one persistent connection per simulated user) in a fraction of that.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any
from urllib.parse import urlsplit


class HttpError(Exception):
    """The connection failed or the server answered something this client does not read."""


class JsonConnection:
    """One persistent connection to a base URL (http://host:port), reopened when the server closes it."""

    def __init__(self, base: str) -> None:
        parts = urlsplit(base)
        if parts.scheme != "http" or parts.hostname is None or parts.port is None:
            raise ValueError(f"want http://host:port, got {base!r}")
        self._host, self._port = parts.hostname, parts.port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        """Send one request (a JSON body when given); returns the status and the decoded JSON body (or None)."""
        payload = b"" if body is None else json.dumps(body, ensure_ascii=False).encode()
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self._host}:{self._port}", f"Content-Length: {len(payload)}"]
        if body is not None:
            lines.append("Content-Type: application/json")
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        message = ("\r\n".join(lines) + "\r\n\r\n").encode() + payload
        try:
            if self._writer is None:
                self._reader, self._writer = await asyncio.open_connection(self._host, self._port)
            self._writer.write(message)
            return await self._response()
        except (ConnectionError, asyncio.IncompleteReadError) as exc:
            # Not retried (the server may have handled it): the caller counts it; the next request reconnects.
            await self.close()
            raise HttpError(f"{method} {path}: {exc}") from exc

    async def _response(self) -> tuple[int, Any]:
        assert self._reader is not None
        head = await self._reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        headers = {}
        for line in header_lines:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        if "content-length" not in headers:
            raise HttpError(f"no Content-Length in a {status} response")
        raw = await self._reader.readexactly(int(headers["content-length"]))
        if headers.get("connection", "").lower() == "close":
            await self.close()
        is_json = headers.get("content-type", "").startswith("application/json")
        return status, json.loads(raw) if raw and is_json else None

    async def close(self) -> None:
        """Close the connection (the next request opens a new one)."""
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
