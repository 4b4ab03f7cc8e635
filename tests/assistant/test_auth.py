"""Verified tokens are reused briefly, never past their expiry, never for another secret, never when altered."""

from __future__ import annotations

import time

import pytest

import assistant.auth as auth
from assistant.auth import VerifiedTokens, decode_user_token, issue_user_token
from assistant.errors import Unauthorized

SECRET = "s" * 32


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def test_a_verified_token_is_reused_within_the_ttl_and_verified_again_after() -> None:
    clock = Clock()
    cache = VerifiedTokens(ttl=60, clock=clock)
    token = issue_user_token("u1", SECRET, ttl=3600)
    calls = []
    real = auth._verify

    def counting(token: str, secret: str) -> dict[str, object]:
        calls.append(token)
        return real(token, secret)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(auth, "_verify", counting)
        assert cache.claims(token, SECRET)["sub"] == "u1"
        clock.now += 59
        assert cache.claims(token, SECRET)["sub"] == "u1"
        assert len(calls) == 1
        clock.now += 2
        assert cache.claims(token, SECRET)["sub"] == "u1"
        assert len(calls) == 2


def test_a_cached_token_is_refused_once_it_expires() -> None:
    clock = Clock()
    cache = VerifiedTokens(ttl=600, clock=clock)
    token = issue_user_token("u1", SECRET, ttl=30)
    assert cache.claims(token, SECRET)["sub"] == "u1"
    clock.now += 31
    with pytest.raises(Unauthorized, match="expired"):
        cache.claims(token, SECRET)


def test_a_rotated_secret_revokes_tokens_already_verified() -> None:
    cache = VerifiedTokens()
    token = issue_user_token("u1", SECRET)
    cache.claims(token, SECRET)
    with pytest.raises(Unauthorized, match="invalid"):
        cache.claims(token, "n" * 32)


def test_an_altered_token_is_refused_even_when_the_original_was_verified() -> None:
    token = issue_user_token("u1", SECRET, tier="free")
    assert decode_user_token(token, SECRET).tier == "free"
    header, payload, signature = token.split(".")
    forged = issue_user_token("u1", "x" * 32, tier="vip").split(".")[1]
    with pytest.raises(Unauthorized):
        decode_user_token(f"{header}.{forged}.{signature}", SECRET)
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    with pytest.raises(Unauthorized):
        decode_user_token(f"{header}.{payload}.{flipped}", SECRET)


def test_a_full_cache_keeps_verifying() -> None:
    cache = VerifiedTokens(size=2)
    tokens = [issue_user_token(f"u{i}", SECRET) for i in range(5)]
    assert [cache.claims(t, SECRET)["sub"] for t in tokens * 2] == [f"u{i}" for i in range(5)] * 2
