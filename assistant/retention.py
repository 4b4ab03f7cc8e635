"""Retention: conversations whose last activity is older than `retention_days` are purged with everything tied
to them (messages, dialogue state, tickets, FAQ candidates, events); a user left with nothing is forgotten.

Runs in the server as a background thread every `retention_interval_minutes`, or from the command line:
`python -m assistant.retention purge [--dry-run] [--days N]`.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from assistant.conversations import CONVERSATION, USER
from assistant.privacy.audit import SYSTEM, AuditLog
from assistant.privacy.erasure import Eraser, ErasureReport
from storage.ports import KeyStore, Store

log = logging.getLogger(__name__)

DAY = 86400.0
RUN_LOCK = "lock:retention"  # one worker of several runs each pass
FIRST_RUN_DELAY_SECONDS = 60.0  # start-up work (models, index) goes first


@dataclass
class RetentionReport:
    """One pass: the cutoff, the conversations purged (or, in a dry run, that would be) and what went with them."""

    cutoff: float
    dry_run: bool
    conversations: list[str] = field(default_factory=list)
    users_forgotten: int = 0
    removed: ErasureReport = field(default_factory=ErasureReport)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "cutoff": self.cutoff,
            "dry_run": self.dry_run,
            "conversations": len(self.conversations),
            "conversation_ids": self.conversations,
            "users_forgotten": self.users_forgotten,
            "removed": self.removed.to_dict(),
        }


def last_activity(store: Store, conversation: dict[str, Any]) -> float:
    """When anything last happened in a conversation: its own updates or its latest message."""
    latest = max(float(conversation.get("updated_at") or 0.0), float(conversation.get("created_at") or 0.0))
    messages = store.list_messages(str(conversation.get("id", "")))
    return max([latest, *(m.created_at for m in messages)])


def expired_conversations(store: Store, cutoff: float) -> list[tuple[str, str]]:
    """(conversation id, user id) of every conversation with no activity since `cutoff`."""
    found = []
    for doc in store.list(CONVERSATION):
        # Messages do not touch the document, so only conversations that look old have their log read.
        if max(float(doc.get("updated_at") or 0.0), float(doc.get("created_at") or 0.0)) >= cutoff:
            continue
        if last_activity(store, doc) < cutoff:
            found.append((str(doc["id"]), str(doc.get("user_id", ""))))
    return found


def purge_expired(
    store: Store,
    eraser: Eraser,
    *,
    days: int,
    now: float | None = None,
    dry_run: bool = False,
    audit: AuditLog | None = None,
) -> RetentionReport:
    """Purge (or with `dry_run` only list) the conversations older than `days` by last activity."""
    cutoff = (time.time() if now is None else now) - days * DAY
    report = RetentionReport(cutoff=cutoff, dry_run=dry_run)
    expired = expired_conversations(store, cutoff)
    report.conversations = [conversation_id for conversation_id, _ in expired]
    if dry_run or not expired:
        return report
    for conversation_id, user_id in expired:
        report.removed.merge(eraser.purge_conversation(conversation_id, user_id))
    for user_id in sorted({user_id for _, user_id in expired}):
        if _forgettable(store, user_id, cutoff):
            report.removed.merge(eraser.erase_user(user_id, scrub=False))
            report.users_forgotten += 1
    store.scrub()
    if audit is not None:
        details = {**report.removed.totals(), "users_forgotten": report.users_forgotten, "days": days}
        audit.record("retention.purge", SYSTEM, details=details)
    return report


def _forgettable(store: Store, user_id: str, cutoff: float) -> bool:
    """No conversation left and an old profile; a profile that records an opt-out is kept to honour it."""
    if store.list(CONVERSATION, owner=user_id):
        return False
    profile = store.get(USER, user_id) or {}
    return not profile.get("training_opt_out") and float(profile.get("created_at") or 0.0) < cutoff


class RetentionJob:
    """Runs a purge every `interval_seconds` in a daemon thread until stopped."""

    def __init__(
        self,
        run: Callable[[], RetentionReport],
        interval_seconds: float,
        *,
        keys: KeyStore,
        first_delay: float = FIRST_RUN_DELAY_SECONDS,
    ) -> None:
        self._run = run
        self._interval = interval_seconds
        self._keys = keys
        self._first_delay = first_delay
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="retention", daemon=True)

    def start(self) -> None:
        """Start the thread."""
        self._thread.start()

    def stop(self) -> None:
        """Ask the thread to stop and wait for a pass in progress to end."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def run_once(self) -> RetentionReport | None:
        """One pass unless another worker ran one within the last half interval; None when skipped."""
        if not self._keys.set_once(RUN_LOCK, "1", max(1.0, self._interval / 2)):
            return None
        report = self._run()
        if report.conversations:
            log.info(
                "retention purged conversations",
                extra={"conversations": len(report.conversations), "users_forgotten": report.users_forgotten},
            )
        return report

    def _loop(self) -> None:
        if self._stop.wait(self._first_delay):
            return
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:  # the next pass retries; a failing purge must not kill the thread
                log.exception("retention pass failed")
            if self._stop.wait(self._interval):
                return


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m assistant.retention purge [--dry-run] [--days N]`: one pass with the configured store."""
    from assistant.settings import get_settings
    from storage.factory import open_bus, open_store

    parser = argparse.ArgumentParser(prog="python -m assistant.retention", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    purge = commands.add_parser("purge", help="purge conversations past the retention period")
    purge.add_argument("--dry-run", action="store_true", help="only list what would be purged")
    purge.add_argument("--days", type=int, default=None, help="override ASSISTANT_RETENTION_DAYS")
    args = parser.parse_args(argv)
    settings = get_settings()
    days = args.days if args.days is not None else settings.retention_days
    if days < 1:
        parser.error("--days must be at least 1")
    store = open_store(settings.resolved_store_url, sqlite_synchronous=settings.sqlite_synchronous)
    try:
        audit = AuditLog(store, settings.secret_key.get_secret_value())
        eraser = Eraser(store, open_bus(settings.resolved_store_url))
        report = purge_expired(store, eraser, days=days, dry_run=args.dry_run, audit=audit)
    finally:
        store.close()
    json.dump(report.to_dict(), sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
