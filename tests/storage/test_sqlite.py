"""SQLite-only guarantees beyond the shared contract: WAL, durability settings, erasure in the file itself."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from storage.sqlite import SqliteStore


def test_file_uses_wal_and_the_requested_synchronous_mode(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.db", synchronous="NORMAL")

    assert store._db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert store._db.execute("PRAGMA synchronous").fetchone() == (1,)  # NORMAL
    store.close()


def test_erased_text_is_gone_from_the_database_file(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    secret = "erase-me-13800138000"
    store = SqliteStore(path)
    store.put("faq", "keep", {"q": "如何退款"})
    store.put("user", "u1", {"phone": secret}, owner="u1")
    store.append_message("c1", "user", f"my phone is {secret}")
    store.close()
    assert secret.encode() in path.read_bytes()

    store = SqliteStore(path)
    store.delete("user", "u1")
    store.delete_messages("c1")
    store.close()  # the last close checkpoints the WAL into the file

    raw = path.read_bytes()
    assert secret.encode() not in raw  # secure_delete zeroes freed content
    assert "如何退款".encode() in raw
    assert not Path(f"{path}-wal").exists()


def test_closed_store_does_not_answer_ping() -> None:
    store = SqliteStore(":memory:")
    assert store.ping() is True

    store.close()
    assert store.ping() is False


def test_a_write_group_is_one_commit_seen_whole_by_other_processes_or_not_at_all(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    store, other = SqliteStore(path, synchronous="FULL"), SqliteStore(path, synchronous="FULL")
    store.put("conversation", "c1", {"mode": "bot"})
    with store.write_group():
        store.put("dialogue_state", "c1", {"turn_count": 1})
        reply = store.append_message("c1", "bot", "您好", require={"mode": "bot"})
        assert other.get("dialogue_state", "c1") is None  # another connection sees nothing before the commit
        assert other.list_messages("c1") == []
    assert other.get("dialogue_state", "c1") == {"turn_count": 1}
    assert other.list_messages("c1") == [reply]

    try:
        with store.write_group():
            store.put("dialogue_state", "c1", {"turn_count": 2})
            store.append_message("c1", "bot", "lost")
            raise RuntimeError("the turn failed half-way")
    except RuntimeError:
        pass
    assert other.get("dialogue_state", "c1") == {"turn_count": 1}  # all or nothing
    assert [m.text for m in other.list_messages("c1")] == ["您好"]
    store.close()
    other.close()


def test_locks_and_rate_limits_leave_a_full_store_flushing_every_other_write(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.db", synchronous="FULL")

    assert store.set_once("lock:turn:c1", "1", 30)
    assert not store.set_once("lock:turn:c1", "1", 30)  # held
    assert store.hit("rl:user:u1", 60) == 1
    assert store.hit("rl:user:u1", 60) == 2
    store.delete_key("lock:turn:c1")
    assert store.set_once("lock:turn:c1", "1", 30)

    assert store._db.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL again for documents and messages
    store.close()


def test_a_file_from_before_document_scores_gains_them_and_keeps_its_documents(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    db.execute(
        "CREATE TABLE documents (kind TEXT NOT NULL, id TEXT NOT NULL, owner TEXT, json TEXT NOT NULL, "
        "updated_at REAL NOT NULL, PRIMARY KEY (kind, id))"
    )
    db.execute("INSERT INTO documents VALUES ('ticket', 't1', 'u1', '{\"n\":1}', 0)")
    db.commit()
    db.close()

    store = SqliteStore(path)
    assert store.get("ticket", "t1") == {"n": 1}
    assert store.top("ticket", 5) == []
    store.update_if("ticket", "t1", {}, {}, score=2.0)
    assert store.top("ticket", 5) == [{"n": 1}]
    store.close()
    again = SqliteStore(path)  # a second start finds the column there already
    assert again.top("ticket", 5) == [{"n": 1}]
    again.close()
