"""Who a WeChat follower is on the platform: the `UserDirectory` port, a default and a static-file adapter."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from assistant.auth import TIERS, UserIdentity
from assistant.errors import ConfigError


class UserDirectory(Protocol):
    """Maps a WeChat openid to the platform user (id, tier, name) the conversation belongs to."""

    def lookup(self, openid: str) -> UserIdentity:
        """The platform identity of this follower (never raises for unknown followers)."""
        ...


def default_identity(openid: str) -> UserIdentity:
    """An unknown follower: free tier, user id `wechat:<openid>`."""
    return UserIdentity(id=f"wechat:{openid}", tier="free")


class FreeTierDirectory:
    """Every follower is a free-tier user `wechat:<openid>` (the default when nothing is configured)."""

    def lookup(self, openid: str) -> UserIdentity:
        """The default identity."""
        return default_identity(openid)


class StaticUserDirectory:
    """A mapping the operator maintains: `{"<openid>": {"id": "u-42", "tier": "vip", "name": "王同学"}}`."""

    def __init__(self, mapping: Mapping[str, UserIdentity]) -> None:
        self._mapping = dict(mapping)

    @classmethod
    def from_file(cls, path: Path) -> StaticUserDirectory:
        """Read and validate the JSON file (ConfigError with the offending entry when it is malformed)."""
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read the WeChat users file {path}: {exc}") from exc
        if not isinstance(raw, dict):
            raise ConfigError(f"{path}: expected a JSON object of openid -> user")
        return cls({str(openid): _identity(path, str(openid), entry) for openid, entry in raw.items()})

    def lookup(self, openid: str) -> UserIdentity:
        """The mapped identity, or the default for followers not in the file."""
        return self._mapping.get(openid) or default_identity(openid)


def _identity(path: Path, openid: str, entry: Any) -> UserIdentity:
    if not isinstance(entry, dict):
        raise ConfigError(f"{path}: entry {openid!r} must be an object with id, tier and name")
    tier = entry.get("tier", "free")
    if tier not in TIERS:
        raise ConfigError(f"{path}: entry {openid!r} has unknown tier {tier!r} (use one of {', '.join(TIERS)})")
    user_id = str(entry.get("id") or f"wechat:{openid}")
    if len(user_id) > 128:
        raise ConfigError(f"{path}: entry {openid!r} has an id longer than 128 characters")
    return UserIdentity(id=user_id, tier=tier, name=str(entry.get("name", ""))[:64])
