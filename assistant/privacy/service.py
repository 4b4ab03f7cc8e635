"""PrivacyService: the data-rights requests (export, erasure, preferences, training export), each audited."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from assistant.auth import UserIdentity
from assistant.conversations import ConversationRepository
from assistant.errors import NotFound
from assistant.privacy.audit import Actor, AuditLog, Detail
from assistant.privacy.erasure import Eraser, ErasureReport
from assistant.privacy.export import export_user, has_data
from assistant.privacy.training import TrainingExport, training_export
from storage.ports import Store


class PrivacyService:
    """Answers a user's (or support's, on their behalf) requests about their data and records each in the audit."""

    def __init__(
        self, store: Store, eraser: Eraser, audit: AuditLog, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._store = store
        self._users = ConversationRepository(store)
        self.eraser = eraser
        self.audit = audit
        self._clock = clock

    def export(self, user_id: str, actor: Actor, *, reference: str = "") -> dict[str, Any]:
        """Everything stored about the user (`has_data` tells whether there is anything)."""
        data = export_user(self._store, user_id, now=self._clock())
        details: dict[str, Detail] = {
            "found": has_data(data),
            "conversations": len(data["conversations"]),
            "tickets": len(data["tickets"]),
            "events": len(data["analytics_events"]),
        }
        self.audit.record("data.export", actor, user_id=user_id, reference=reference, details=details)
        return data

    def erase(self, user_id: str, actor: Actor, *, reference: str = "") -> ErasureReport:
        """Remove the user from every store; the audit entry is written even when a part of it failed."""
        report = ErasureReport()
        try:
            report = self.eraser.erase_user(user_id)
        finally:
            details: dict[str, Detail] = {**report.totals(), "found": not report.empty}
            self.audit.record("data.erase", actor, user_id=user_id, reference=reference, details=details)
        return report

    def preferences(self, user_id: str) -> dict[str, Any]:
        """The user's privacy preferences (defaults when there is no profile yet)."""
        user = self._users.get_user(user_id)
        return {"training_opt_out": bool(user and user.training_opt_out)}

    def set_preferences(
        self,
        user_id: str,
        actor: Actor,
        *,
        training_opt_out: bool,
        identity: UserIdentity | None = None,
        reference: str = "",
    ) -> dict[str, Any]:
        """Change the preferences; a user's own request creates their profile, support's needs an existing one."""
        user = self._users.get_user(user_id)
        if user is None:
            if identity is None:
                raise NotFound("no user with this id has talked to the assistant")
            user = self._users.ensure_user(identity.id, tier=identity.tier, name=identity.name, channel="web")
        if user.training_opt_out != training_opt_out:
            user.training_opt_out = training_opt_out
            self._users.save_user(user)
        details = {"training_opt_out": training_opt_out}
        self.audit.record("preferences.update", actor, user_id=user_id, reference=reference, details=details)
        return self.preferences(user_id)

    def training_export(self, actor: Actor, *, limit: int) -> TrainingExport:
        """User texts with the intents and FAQ ids the bot matched, without opted-out users."""
        exported = training_export(self._store, limit=limit)
        details = {"examples": len(exported.examples), "opted_out_users": exported.opted_out_users}
        self.audit.record("training.export", actor, details=details)
        return exported

    def audit_entries(
        self, *, user_id: str | None = None, action: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        """Audit entries newest first (optionally about one user, looked up by pseudonym)."""
        return [e.to_dict() for e in self.audit.entries(user_id=user_id, action=action, limit=limit)]
