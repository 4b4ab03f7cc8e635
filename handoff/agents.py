"""Advisor and administrator accounts: argon2-hashed passwords in documents of kind `agent`."""

from __future__ import annotations

import re
import secrets
import threading
import time
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from assistant.auth import AgentIdentity
from assistant.errors import Conflict, InvalidInput, NotFound, Unauthorized
from handoff.models import AGENT
from storage.ports import Store

Role = Literal["agent", "admin"]
ROLES: tuple[Role, ...] = ("agent", "admin")
MIN_PASSWORD = 8
MAX_PASSWORD = 256  # argon2 hashes anything, but a megabyte "password" is a denial-of-service attempt
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,31}$")


@dataclass
class AgentAccount:
    """One console account; `display_name` is what users see when the advisor joins."""

    username: str
    role: Role
    password_hash: str
    display_name: str = ""
    active: bool = True
    created_at: float = field(default_factory=time.time)
    last_login_at: float | None = None

    @property
    def identity(self) -> AgentIdentity:
        """The identity carried in the agent's token."""
        return AgentIdentity(username=self.username, role=self.role)

    @property
    def name(self) -> str:
        """The display name, falling back to the username."""
        return self.display_name or self.username

    def public(self) -> dict[str, Any]:
        """The account without its password hash."""
        return {
            "username": self.username,
            "role": self.role,
            "display_name": self.name,
            "active": self.active,
            "created_at": self.created_at,
            "last_login_at": self.last_login_at,
        }


def normalize_username(username: str) -> str:
    """Lower-case and validate a username (2–32 of a–z, 0–9, `_.-`)."""
    name = username.strip().lower()
    if not _USERNAME.match(name):
        raise InvalidInput("username must be 2–32 characters of a–z, 0–9, '_', '.', '-'")
    return name


def check_password(password: str) -> str:
    """Reject passwords that are too short or absurdly long."""
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"password must be at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise InvalidInput(f"password must be at most {MAX_PASSWORD} characters")
    return password


class AgentDirectory:
    """Create, look up and authenticate console accounts."""

    def __init__(self, store: Store, hasher: PasswordHasher | None = None) -> None:
        self.store = store
        self.hasher = hasher or PasswordHasher()
        self._dummy_hash: str | None = None
        self._lock = threading.Lock()

    def create(self, username: str, password: str, *, role: str = "agent", display_name: str = "") -> AgentAccount:
        """A new account; Conflict if the username is taken."""
        name = normalize_username(username)
        if role not in ROLES:
            raise InvalidInput(f"role must be one of {', '.join(ROLES)}")
        account = AgentAccount(
            username=name,
            role=role,
            password_hash=self.hasher.hash(check_password(password)),
            display_name=display_name.strip()[:32],
        )
        if self.store.get(AGENT, name) is not None:
            raise Conflict(f"agent {name!r} already exists")
        self.store.put(AGENT, name, asdict(account))
        return account

    def get(self, username: str) -> AgentAccount | None:
        """An account, or None."""
        doc = self.store.get(AGENT, username.strip().lower())
        if doc is None:
            return None
        names = {f.name for f in fields(AgentAccount)}
        return AgentAccount(**{k: v for k, v in doc.items() if k in names})

    def require(self, username: str) -> AgentAccount:
        """An account, or NotFound."""
        account = self.get(username)
        if account is None:
            raise NotFound(f"agent {username!r} not found")
        return account

    def require_active(self, identity: AgentIdentity) -> AgentAccount:
        """The account behind a token, which must still exist, be active and hold the token's role."""
        account = self.get(identity.username)
        if account is None or not account.active or account.role != identity.role:
            raise Unauthorized("this agent session is no longer valid")
        return account

    def accounts(self) -> list[AgentAccount]:
        """Every account, by username."""
        return [self.require(str(doc["username"])) for doc in self.store.list(AGENT)]

    def authenticate(self, username: str, password: str) -> AgentAccount:
        """The account if the password matches; Unauthorized otherwise, in about the same time either way."""
        account = self.get(username) if _USERNAME.match(username.strip().lower()) else None
        if account is None or not account.active or len(password) > MAX_PASSWORD:
            # Verify against a throwaway hash so a missing user costs as much as a wrong password.
            self._verify(self._dummy(), password[:MAX_PASSWORD])
            raise Unauthorized("wrong username or password")
        if not self._verify(account.password_hash, password):
            raise Unauthorized("wrong username or password")
        changes: dict[str, Any] = {"last_login_at": time.time()}
        if self.hasher.check_needs_rehash(account.password_hash):
            changes["password_hash"] = self.hasher.hash(password)
        self.store.update_if(AGENT, account.username, {}, changes)
        return account

    def set_password(self, username: str, password: str) -> None:
        """Replace an account's password."""
        account = self.require(username)
        digest = self.hasher.hash(check_password(password))
        self.store.update_if(AGENT, account.username, {}, {"password_hash": digest})

    def set_active(self, username: str, active: bool) -> None:
        """Enable or disable an account (a disabled account's tokens stop working at once)."""
        account = self.require(username)
        self.store.update_if(AGENT, account.username, {}, {"active": active})

    def _verify(self, digest: str, password: str) -> bool:
        try:
            return bool(self.hasher.verify(digest, password))
        except (VerificationError, InvalidHashError):
            return False

    def _dummy(self) -> str:
        with self._lock:
            if self._dummy_hash is None:
                self._dummy_hash = self.hasher.hash(secrets.token_urlsafe(16))
            return self._dummy_hash
