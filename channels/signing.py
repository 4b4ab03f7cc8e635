"""The HMAC-SHA256 scheme of inbound and outbound webhooks: `X-Signature: sha256=<hex>` over `<timestamp>.<body>`."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Mapping

from assistant.errors import Forbidden, Unauthorized

SIGNATURE_HEADER = "X-Signature"
TIMESTAMP_HEADER = "X-Timestamp"
_PREFIX = "sha256="


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The header value for a body sent at `timestamp` (Unix seconds as text)."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return _PREFIX + digest


def signed_headers(secret: str, body: bytes, *, now: float | None = None) -> dict[str, str]:
    """`X-Timestamp` and `X-Signature` for a body sent now."""
    timestamp = str(int(time.time() if now is None else now))
    return {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: signature(secret, timestamp, body)}


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    tolerance_seconds: float,
    clock: Callable[[], float] = time.time,
) -> None:
    """Raise Unauthorized without the headers, Forbidden for a wrong signature or a stale timestamp."""
    timestamp = headers.get(TIMESTAMP_HEADER.lower()) or headers.get(TIMESTAMP_HEADER)
    given = headers.get(SIGNATURE_HEADER.lower()) or headers.get(SIGNATURE_HEADER)
    if not timestamp or not given:
        raise Unauthorized(f"signed requests need the {TIMESTAMP_HEADER} and {SIGNATURE_HEADER} headers")
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise Forbidden(f"{TIMESTAMP_HEADER} must be Unix seconds") from None
    # The signature is checked first so a forger learns nothing about our clock from the answer.
    if not hmac.compare_digest(signature(secret, timestamp, body), given.strip()):
        raise Forbidden(f"invalid {SIGNATURE_HEADER}: expected sha256=HMAC-SHA256(secret, '<timestamp>.<body>')")
    if abs(clock() - sent_at) > tolerance_seconds:
        raise Forbidden(f"stale request: {TIMESTAMP_HEADER} is more than {int(tolerance_seconds)} s from our clock")
