"""Test doubles speaking real wire formats: a recording HTTP server, and WeChat's side of the protocol."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

TOKEN = "zhixing-test-token"
APP_ID = "wx0123456789abcdef"
APP_SECRET = "wechat-app-secret-for-tests"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # 43 characters, as WeChat issues them
OA_ID = "gh_0123456789ab"


@dataclass
class Call:
    """One request the server received."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


Responder = Callable[[Call], tuple[int, Any]]


@dataclass
class RecordingServer:
    """A threaded HTTP server on 127.0.0.1 that records every call and answers from per-path responders."""

    routes: dict[str, Responder] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                call = Call(
                    self.command,
                    parts.path,
                    dict(parse_qsl(parts.query)),
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length) if length else b"",
                )
                with server._lock:
                    server.calls.append(call)
                responder = server.routes.get(parts.path)
                status, payload = responder(call) if responder else (404, {"errcode": 404})
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _handle

            def log_message(self, *_: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def on(self, path: str, responder: Responder) -> None:
        self.routes[path] = responder

    def received(self, path: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.path == path]

    def wait_for(self, path: str, count: int = 1, timeout: float = 10.0) -> list[Call]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.received(path)
            if len(found) >= count:
                return found
            time.sleep(0.01)
        raise AssertionError(f"expected {count} call(s) to {path}, got {len(self.received(path))}")

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class FakeWeChatApi:
    """The parts of api.weixin.qq.com the assistant uses: token issuing and customer-service sends."""

    TOKEN_PATH = "/cgi-bin/token"
    SEND_PATH = "/cgi-bin/message/custom/send"

    def __init__(self, server: RecordingServer) -> None:
        self.server = server
        self.issued = 0
        self.valid_tokens: set[str] = set()
        self.send_script: list[tuple[int, Any]] = []  # answers for the next sends, then `ok`
        server.on(self.TOKEN_PATH, self._token)
        server.on(self.SEND_PATH, self._send)

    def _token(self, call: Call) -> tuple[int, Any]:
        if call.query.get("appid") != APP_ID or call.query.get("secret") != APP_SECRET:
            return 200, {"errcode": 40125, "errmsg": "invalid appsecret"}
        self.issued += 1
        token = f"ACCESS-TOKEN-{self.issued}"
        self.valid_tokens.add(token)
        return 200, {"access_token": token, "expires_in": 7200}

    def _send(self, call: Call) -> tuple[int, Any]:
        if self.send_script:
            return self.send_script.pop(0)
        if call.query.get("access_token") not in self.valid_tokens:
            return 200, {"errcode": 40001, "errmsg": "invalid credential"}
        return 200, {"errcode": 0, "errmsg": "ok"}

    def expire_all(self) -> None:
        """WeChat invalidated every token (e.g. another system refreshed it)."""
        self.valid_tokens.clear()

    def sends(self) -> list[dict[str, Any]]:
        return [c.json() for c in self.server.received(self.SEND_PATH)]

    def texts(self) -> list[str]:
        return [s["text"]["content"] for s in self.sends()]


# -- WeChat's side of the protocol, written from the documentation (independent of wechatpy) -------------


def sha1_signature(*parts: str) -> str:
    """WeChat's signature: SHA-1 of the sorted parts concatenated."""
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def signed_params(*, timestamp: int | None = None, nonce: str | None = None, token: str = TOKEN) -> dict[str, str]:
    """The query WeChat adds to every callback."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    nonce = nonce or base64.b16encode(os.urandom(5)).decode()
    return {"signature": sha1_signature(token, ts, nonce), "timestamp": ts, "nonce": nonce}


def text_xml(content: str, *, openid: str = "o-user-1", msg_id: int = 1234567890123456, at: int | None = None) -> str:
    """A text message exactly as WeChat posts it."""
    return (
        f"<xml><ToUserName><![CDATA[{OA_ID}]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{int(time.time()) if at is None else at}</CreateTime>"
        f"<MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content>"
        f"<MsgId>{msg_id}</MsgId></xml>"
    )


def event_xml(event: str, *, openid: str = "o-user-1", at: int = 1_700_000_000, key: str = "") -> str:
    """An event push (subscribe, CLICK…)."""
    return (
        f"<xml><ToUserName><![CDATA[{OA_ID}]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{at}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        f"<Event><![CDATA[{event}]]></Event><EventKey><![CDATA[{key}]]></EventKey></xml>"
    )


def media_xml(kind: str, extra: str, *, openid: str = "o-user-1", msg_id: int = 42) -> str:
    """An image, voice, location or link message; `extra` holds its type-specific elements."""
    return (
        f"<xml><ToUserName><![CDATA[{OA_ID}]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[{kind}]]></MsgType>"
        f"{extra}<MsgId>{msg_id}</MsgId></xml>"
    )


def _aes(key: bytes) -> Cipher[modes.CBC]:
    return Cipher(algorithms.AES(key), modes.CBC(key[:16]))


def encrypt(xml: str, *, aes_key: str = AES_KEY, app_id: str = APP_ID) -> str:
    """WeChat's safe-mode encryption: AES-256-CBC of random(16) + len(4, big-endian) + msg + appid, PKCS#7/32."""
    key = base64.b64decode(aes_key + "=")
    message = xml.encode()
    raw = os.urandom(16) + struct.pack(">I", len(message)) + message + app_id.encode()
    pad = 32 - len(raw) % 32
    raw += bytes([pad]) * pad
    encryptor = _aes(key).encryptor()
    return base64.b64encode(encryptor.update(raw) + encryptor.finalize()).decode()


def decrypt(encrypted: str, *, aes_key: str = AES_KEY) -> tuple[str, str]:
    """The message and the AppID inside a safe-mode ciphertext."""
    key = base64.b64decode(aes_key + "=")
    decryptor = _aes(key).decryptor()
    raw = decryptor.update(base64.b64decode(encrypted)) + decryptor.finalize()
    raw = raw[: -raw[-1]]
    (length,) = struct.unpack(">I", raw[16:20])
    return raw[20 : 20 + length].decode(), raw[20 + length :].decode()


def encrypted_request(xml: str, *, timestamp: int | None = None, token: str = TOKEN) -> tuple[dict[str, str], str]:
    """Query and body of a safe-mode POST: `msg_signature` covers token, timestamp, nonce and the ciphertext."""
    params = signed_params(timestamp=timestamp, token=token)
    encrypted = encrypt(xml)
    params.update(
        encrypt_type="aes",
        msg_signature=sha1_signature(token, params["timestamp"], params["nonce"], encrypted),
        openid="o-user-1",
    )
    body = f"<xml><ToUserName><![CDATA[{OA_ID}]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
    return params, body


def open_encrypted_reply(reply: str, *, token: str = TOKEN) -> str:
    """Verify the MsgSignature of a safe-mode passive reply and return the decrypted reply XML."""
    root = ET.fromstring(reply)
    encrypted = root.findtext("Encrypt") or ""
    expected = sha1_signature(token, root.findtext("TimeStamp") or "", root.findtext("Nonce") or "", encrypted)
    assert root.findtext("MsgSignature") == expected, "the reply's MsgSignature does not verify"
    inner, app_id = decrypt(encrypted)
    assert app_id == APP_ID
    return inner


def reply_content(reply: str) -> tuple[str, str, str]:
    """(MsgType, Content, ToUserName) of a plain passive reply."""
    root = ET.fromstring(reply)
    return root.findtext("MsgType") or "", root.findtext("Content") or "", root.findtext("ToUserName") or ""
