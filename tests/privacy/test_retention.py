"""Retention: conversations inactive past the retention period are purged by the job and by the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from api.privacy import privacy_of, start_retention
from assistant.conversations import ConversationRepository
from assistant.retention import DAY, RetentionJob, RetentionReport, purge_expired
from storage.sqlite import SqliteStore
from tests.conftest import ROOT
from tests.privacy.conftest import Site, bearer, privacy_settings

OLD_TEXT = "去年的问题-4e1d"
RECENT_TEXT = "最近的问题-9c2a"


def test_conversations_inactive_past_retention_are_purged_with_everything_tied_to_them(site: Site) -> None:
    old = site.start("u-old", "老用户")
    site.say(old, text=OLD_TEXT)
    ticket = site.hand_off(old)
    recent = site.start("u-recent", "新用户")
    site.say(recent, text=RECENT_TEXT)
    # Created at the same time, but recent kept talking: a message a year later is its last activity.
    later = time.time() + 399 * DAY
    site.store.append_message(recent["conversation_id"], "user", "还有一个问题", at=later)
    kept_profile = site.start("u-keeps-choice")
    site.client.put("/v1/me/preferences", json={"training_opt_out": True}, headers=site.user("u-keeps-choice"))
    service = privacy_of(site.runtime)
    future = time.time() + 400 * DAY

    dry = purge_expired(site.store, service.eraser, days=365, now=future, dry_run=True)
    assert set(dry.conversations) == {old["conversation_id"], kept_profile["conversation_id"]}
    assert OLD_TEXT in site.store.dump_text()

    report = purge_expired(site.store, service.eraser, days=365, now=future, audit=service.audit)

    assert set(report.conversations) == set(dry.conversations)
    assert report.removed.withdrawn_tickets == 1
    assert report.users_forgotten == 1  # u-old; u-keeps-choice keeps the profile that records the opt-out
    dump = site.store.dump_text()
    assert OLD_TEXT not in dump
    assert "u-old" not in dump
    assert ticket not in dump
    assert RECENT_TEXT in dump
    repo = ConversationRepository(site.store)
    assert repo.get_user("u-keeps-choice") is not None
    assert repo.get_user("u-recent") is not None
    assert [e["ticket"]["id"] for e in site.bus.on("agents", "ticket.erased")] == [ticket]
    gone = site.client.get(f"/v1/conversations/{old['conversation_id']}/messages", headers=bearer(old["token"]))
    assert gone.status_code == 404
    [entry] = service.audit.entries(action="retention.purge")
    assert entry.actor_role == "system"
    assert entry.details["conversations"] == 2


def _old_conversation(path: Path, text: str) -> str:
    store = SqliteStore(path)
    repo = ConversationRepository(store)
    user = repo.ensure_user("u-cli", tier="free", name="", channel="web")
    conv = repo.create(user, channel="web")
    long_ago = time.time() - 800 * DAY
    repo.update(conv.id, created_at=long_ago, updated_at=long_ago)
    store.append_message(conv.id, "user", text, at=long_ago)
    store.close()
    return conv.id


def _cli(tmp_path: Path, *args: str) -> dict[str, object]:
    env = {
        **os.environ,
        "ASSISTANT_DATA_DIR": str(tmp_path),
        "ASSISTANT_STORE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "ASSISTANT_RETENTION_DAYS": "365",
    }
    done = subprocess.run(
        [sys.executable, "-m", "assistant.retention", "purge", *args],
        cwd=tmp_path,  # away from any developer .env
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_the_cli_lists_then_purges_expired_conversations(tmp_path: Path) -> None:
    conversation_id = _old_conversation(tmp_path / "cli.db", OLD_TEXT)

    dry = _cli(tmp_path, "--dry-run")
    assert dry["conversation_ids"] == [conversation_id]
    assert dry["dry_run"] is True

    done = _cli(tmp_path)
    assert done["conversations"] == 1
    store = SqliteStore(tmp_path / "cli.db")
    assert OLD_TEXT not in store.dump_text()
    assert [d["action"] for d in store.list("audit")] == ["retention.purge"]
    store.close()


def test_the_job_runs_in_the_background_once_per_interval_across_workers(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "job.db")
    runs: list[float] = []
    ran = threading.Event()

    def run() -> RetentionReport:
        runs.append(time.time())
        ran.set()
        return RetentionReport(cutoff=0.0, dry_run=False)

    worker = RetentionJob(run, 3600, keys=store, first_delay=0.0)
    other_worker = RetentionJob(run, 3600, keys=store, first_delay=0.0)
    worker.start()
    assert ran.wait(10)
    assert other_worker.run_once() is None  # the first worker's pass covers this interval
    worker.stop()
    assert len(runs) == 1
    store.close()


def _retention_threads() -> int:
    return sum(1 for t in threading.enumerate() if t.name == "retention" and t.is_alive())


def test_the_server_starts_the_job_unless_the_interval_is_zero(tmp_path: Path, site: Site) -> None:
    runtime, configured = site.runtime, site.runtime.settings
    before = _retention_threads()  # the site's own job (60 minutes by default)
    try:
        runtime.settings = privacy_settings(tmp_path, retention_interval_minutes=0)
        start_retention(runtime)()
        assert _retention_threads() == before
        runtime.settings = privacy_settings(tmp_path, retention_interval_minutes=1)
        stop = start_retention(runtime)
        assert _retention_threads() == before + 1
        stop()
        assert _retention_threads() == before
    finally:
        runtime.settings = configured
