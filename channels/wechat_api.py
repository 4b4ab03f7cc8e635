"""The WeChat customer-service message API (httpx): a token cache shared by workers, retries, no secrets logged."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from assistant.errors import Unavailable
from storage.ports import KeyStore

log = logging.getLogger(__name__)

TOKEN_ERRORS = frozenset({40001, 40014, 42001})  # invalid, malformed or expired access_token: refresh and retry
BUSY = -1  # "system busy, try again later"
_REFRESH_LOCK_SECONDS = 10.0
_SECRET_QUERY = re.compile(r"((?:access_token|secret)=)[^&\s\"']+")


class WeChatApiError(Unavailable):
    """A call to the WeChat API failed; `errcode` is WeChat's code (0 for transport and HTTP failures)."""

    code = "wechat_api_error"

    def __init__(self, message: str, *, errcode: int = 0) -> None:
        super().__init__(message)
        self.errcode = errcode


class _RedactSecrets(logging.Filter):
    """httpx logs request URLs; ours carry `access_token` and `secret` in the query, which must not reach logs."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "access_token=" in message or "secret=" in message:
            record.msg, record.args = _SECRET_QUERY.sub(r"\1***", message), ()
        return True


def _install_redaction() -> None:
    logger = logging.getLogger("httpx")
    if not any(isinstance(f, _RedactSecrets) for f in logger.filters):
        logger.addFilter(_RedactSecrets())


class WeChatApiClient:
    """Sends customer-service text messages; the access token is cached in the store until shortly before expiry."""

    def __init__(
        self,
        keys: KeyStore,
        *,
        app_id: str,
        app_secret: str,
        api_base: str = "https://api.weixin.qq.com",
        timeout: float = 5.0,
        attempts: int = 3,
        backoff: float = 0.5,
        token_margin: float = 300.0,
        http: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        _install_redaction()
        self._keys = keys
        self._app_id = app_id
        self._secret = app_secret
        self._base = api_base.rstrip("/")
        self._attempts = max(1, attempts)
        self._backoff = backoff
        self._margin = token_margin
        self._http = http or httpx.Client(timeout=timeout)
        self._sleep = sleep

    @property
    def configured(self) -> bool:
        """True when an AppID and AppSecret are set (without them no message can be pushed)."""
        return bool(self._app_id and self._secret)

    def send_text(self, openid: str, content: str) -> None:
        """Push a text message to a follower; refreshes the token once when WeChat says it is invalid."""
        if not self.configured:
            raise WeChatApiError("the WeChat customer-service API needs ASSISTANT_WECHAT_APP_ID and _APP_SECRET")
        body = {"touser": openid, "msgtype": "text", "text": {"content": content}}
        token = self.access_token()
        for refreshed in (False, True):
            data = self._call("POST", "/cgi-bin/message/custom/send", {"access_token": token}, body)
            errcode = _errcode(data)
            if errcode == 0:
                return
            if errcode in TOKEN_ERRORS and not refreshed:
                log.info("WeChat access token rejected; refreshing", extra={"errcode": errcode})
                token = self.access_token(stale=token)
                continue
            log.warning("WeChat refused a customer-service message", extra={"errcode": errcode})
            raise WeChatApiError(f"WeChat refused the message: {data.get('errmsg', '')}", errcode=errcode)

    def access_token(self, *, stale: str | None = None) -> str:
        """The cached token, or a new one (one worker refreshes while the others wait for its result)."""
        key = f"wechat:access_token:{self._app_id}"
        cached = self._keys.get_key(key)
        if cached and cached != stale:
            return cached
        lock = f"{key}:refresh"
        owner = self._keys.set_once(lock, "1", _REFRESH_LOCK_SECONDS)
        if not owner:
            fresh = self._await_refresh(key, stale)
            if fresh is not None:
                return fresh
        try:
            cached = self._keys.get_key(key)
            if cached and cached != stale:
                return cached
            data = self._call(
                "GET",
                "/cgi-bin/token",
                {"grant_type": "client_credential", "appid": self._app_id, "secret": self._secret},
            )
            token = str(data.get("access_token") or "")
            if not token:
                errcode = _errcode(data)
                log.error("WeChat did not issue an access token", extra={"errcode": errcode})
                raise WeChatApiError(f"no access token: {data.get('errmsg', 'unknown error')}", errcode=errcode)
            expires_in = float(data.get("expires_in", 7200))
            # Expire our copy early so no request goes out with a token about to lapse.
            self._keys.set_key(key, token, max(expires_in - self._margin, expires_in / 2, 1.0))
            return token
        finally:
            if owner:
                self._keys.delete_key(lock)

    def close(self) -> None:
        """Release the HTTP connections."""
        self._http.close()

    def _await_refresh(self, key: str, stale: str | None) -> str | None:
        deadline = time.monotonic() + _REFRESH_LOCK_SECONDS / 2
        while time.monotonic() < deadline:
            cached = self._keys.get_key(key)
            if cached and cached != stale:
                return cached
            time.sleep(0.02)
        return None  # the refreshing worker seems stuck: refresh ourselves

    def _call(
        self, method: str, path: str, params: Mapping[str, str], body: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """One API call with retries on network errors, 5xx and `errcode -1` (exponential backoff)."""
        content = json.dumps(body, ensure_ascii=False).encode() if body is not None else None
        headers = {"Content-Type": "application/json; charset=utf-8"} if content is not None else None
        problem = ""
        for attempt in range(self._attempts):
            if attempt:
                self._sleep(self._backoff * 2 ** (attempt - 1))
            try:
                response = self._http.request(
                    method, self._base + path, params=params, content=content, headers=headers
                )
            except httpx.TransportError as exc:
                problem = type(exc).__name__
            else:
                if response.status_code >= 500:
                    problem = f"HTTP {response.status_code}"
                elif response.status_code >= 400:
                    raise WeChatApiError(f"WeChat API {path} answered HTTP {response.status_code}")
                else:
                    data = _json(response)
                    if _errcode(data) != BUSY:
                        return data
                    problem = "errcode -1 (busy)"
            log.warning("WeChat API call failed", extra={"path": path, "attempt": attempt + 1, "problem": problem})
        raise WeChatApiError(f"WeChat API {path} failed after {self._attempts} attempts: {problem}")


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        raise WeChatApiError("WeChat API answered something that is not JSON") from None
    if not isinstance(data, dict):
        raise WeChatApiError("WeChat API answered an unexpected JSON value")
    return data


def _errcode(data: Mapping[str, Any]) -> int:
    try:
        return int(data.get("errcode", 0))
    except (TypeError, ValueError):
        return 0
