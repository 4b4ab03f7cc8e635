"""SQLite-only guarantees beyond the shared contract: WAL, durability settings, erasure in the file itself."""

from __future__ import annotations

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
