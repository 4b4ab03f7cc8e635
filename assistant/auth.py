"""Tokens: the platform's user JWTs (verified), and the conversation and agent tokens this server issues."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import jwt

from assistant.errors import Forbidden, Unauthorized

Tier = Literal["free", "member", "vip"]
TIERS: tuple[Tier, ...] = ("free", "member", "vip")
TIER_RANK: dict[str, int] = {"vip": 0, "member": 1, "free": 2}
_ALGORITHM = "HS256"
CONVERSATION_TOKEN_TTL = 30 * 24 * 3600


@dataclass(frozen=True)
class UserIdentity:
    """Who is chatting: the platform's user id, tier and display name."""

    id: str
    tier: Tier = "free"
    name: str = ""
    anonymous: bool = False


@dataclass(frozen=True)
class AgentIdentity:
    """A logged-in success advisor (role `agent`) or administrator (role `admin`)."""

    username: str
    role: Literal["agent", "admin"]

    @property
    def is_admin(self) -> bool:
        """True for administrators."""
        return self.role == "admin"


class VerifiedTokens:
    """Claims of recently verified tokens, by exact token string and secret, for at most `ttl` seconds each.

    Every turn presents the same bearer token; verifying its signature again each time is wasted work. An entry
    never outlives the token's own `exp`, a different secret (rotated) misses, and failures are never cached.
    """

    def __init__(self, ttl: float = 60.0, size: int = 4096, clock: Callable[[], float] = time.time) -> None:
        self._ttl = ttl
        self._size = size
        self._clock = clock
        self._entries: dict[tuple[str, str], tuple[float, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def claims(self, token: str, secret: str) -> dict[str, Any]:
        """The token's verified claims (401 when invalid or expired)."""
        key = (token, secret)
        now = self._clock()
        with self._lock:
            entry = self._entries.get(key)
        if entry is not None:
            until, claims = entry
            if now < until:
                return claims
            if now >= claims["exp"]:
                raise Unauthorized("token expired")
        claims = _verify(token, secret)
        with self._lock:
            if len(self._entries) >= self._size:
                self._entries.clear()  # simpler than LRU; a refill costs one verification per active token
            self._entries[key] = (min(now + self._ttl, float(claims["exp"])), claims)
        return claims


_verified = VerifiedTokens()


def _verify(token: str, secret: str) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(token, secret, algorithms=[_ALGORITHM], options={"require": ["exp", "sub"]})
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("token expired") from exc
    except jwt.PyJWTError as exc:
        raise Unauthorized("invalid token") from exc
    return claims


def _decode(token: str, secret: str, typ: str | None) -> dict[str, Any]:
    claims = _verified.claims(token, secret)
    if typ is not None and claims.get("typ") != typ:
        raise Unauthorized("wrong kind of token")
    return claims


def decode_user_token(token: str, secret: str) -> UserIdentity:
    """Verify a platform-issued user JWT (claims `sub`, `tier`, optional `name`, `exp`)."""
    claims = _decode(token, secret, None)
    if claims.get("typ") in ("conv", "agent"):
        raise Unauthorized("not a user token")
    tier = claims.get("tier", "free")
    if tier not in TIERS:
        raise Unauthorized(f"unknown tier {tier!r}")
    sub = str(claims["sub"])
    if not sub or len(sub) > 128:
        raise Unauthorized("invalid subject")
    return UserIdentity(id=sub, tier=tier, name=str(claims.get("name", ""))[:64])


def issue_user_token(user_id: str, secret: str, *, tier: Tier = "free", name: str = "", ttl: int = 3600) -> str:
    """Mint a user JWT the way the platform's backend does (demo page and tests)."""
    claims = {"sub": user_id, "tier": tier, "exp": int(time.time()) + ttl}
    if name:
        claims["name"] = name
    return jwt.encode(claims, secret, algorithm=_ALGORITHM)


def anonymous_user() -> UserIdentity:
    """A fresh anonymous free-tier user."""
    return UserIdentity(id=f"anon-{uuid.uuid4().hex[:16]}", tier="free", anonymous=True)


def issue_conversation_token(conversation_id: str, user_id: str, secret: str) -> str:
    """A token that authorises one conversation and nothing else."""
    claims = {
        "typ": "conv",
        "sub": user_id,
        "cid": conversation_id,
        "exp": int(time.time()) + CONVERSATION_TOKEN_TTL,
    }
    return jwt.encode(claims, secret, algorithm=_ALGORITHM)


def check_conversation_token(token: str, conversation_id: str, secret: str) -> str:
    """Verify a conversation token for `conversation_id`; returns the owning user id."""
    claims = _decode(token, secret, "conv")
    if claims.get("cid") != conversation_id:
        raise Forbidden("this token does not authorise that conversation")
    return str(claims["sub"])


def issue_agent_token(agent: AgentIdentity, secret: str, ttl_seconds: float) -> str:
    """A bearer token for an agent session."""
    claims = {
        "typ": "agent",
        "sub": agent.username,
        "role": agent.role,
        "exp": int(time.time() + ttl_seconds),
    }
    return jwt.encode(claims, secret, algorithm=_ALGORITHM)


def decode_agent_token(token: str, secret: str) -> AgentIdentity:
    """Verify an agent token."""
    claims = _decode(token, secret, "agent")
    role = claims.get("role")
    if role not in ("agent", "admin"):
        raise Unauthorized("invalid role")
    return AgentIdentity(username=str(claims["sub"]), role=role)
