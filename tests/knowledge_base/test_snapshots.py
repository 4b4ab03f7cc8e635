"""Versioned snapshots: layout and manifest, atomic publish, reload under load, rollback, staleness."""

from __future__ import annotations

import json
import shutil
import threading
from datetime import datetime
from pathlib import Path

import pytest

from assistant.embedding import HashingEmbedder
from assistant.errors import ConfigError, Conflict, Unavailable
from knowledge_base import FaqEntry, SnapshotManager, source_checksum


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory, faq_dir: Path, faq_entries: list[FaqEntry]) -> Path:
    """A snapshot root holding one build of the fixture FAQ (built once for the module)."""
    root = tmp_path_factory.mktemp("kb")
    SnapshotManager(root, HashingEmbedder(dimension=64)).build(faq_entries, source_checksum([faq_dir]))
    return root


@pytest.fixture
def root(published: Path, tmp_path: Path) -> Path:
    """A private copy of the published root, so tests can add versions."""
    copy = tmp_path / "kb"
    shutil.copytree(published, copy)
    return copy


def _manager(root: Path) -> SnapshotManager:
    return SnapshotManager(root, HashingEmbedder(dimension=64))


def test_build_writes_a_versioned_snapshot_with_a_manifest(published: Path, faq_dir: Path) -> None:
    assert (published / "CURRENT").read_text().strip() == "v000001"
    directory = published / "snapshots" / "v000001"
    assert {"manifest.json", "entries.jsonl", "dense.faiss", "fusion.json", "docs.npz"} <= {
        p.name for p in directory.iterdir()
    }
    manifest = json.loads((directory / "manifest.json").read_text())
    assert manifest["version"] == "v000001"
    assert manifest["model"] == "hashing-fake"
    assert manifest["dimension"] == 64
    assert manifest["entry_count"] == 14
    assert manifest["source_checksum"] == source_checksum([faq_dir])
    assert manifest["index_kind"] == "flat"
    assert datetime.fromisoformat(manifest["created_at"]).tzinfo is not None
    assert 0 < manifest["calibration"]["plain"]["top1"] <= 1


def test_loaded_snapshot_answers_like_the_built_one(root: Path) -> None:
    manager = _manager(root)
    assert manager.latest() == "v000001"
    kb = manager.current
    assert kb.version == "v000001"
    assert kb.search("怎么开发票？").hits[0].id == "invoice"
    assert kb.get("replay") is not None


def test_reload_swaps_while_concurrent_searches_keep_succeeding(root: Path) -> None:
    manager = _manager(root)
    old = manager.current
    errors: list[BaseException] = []
    done = threading.Event()
    counts = [0, 0, 0]

    def search(slot: int) -> None:
        while not done.is_set():
            try:
                assert manager.current.search("怎么开发票？").hits
                counts[slot] += 1
            except BaseException as exc:  # any failure of an in-flight request fails the test
                errors.append(exc)
                return

    threads = [threading.Thread(target=search, args=(i,)) for i in range(3)]
    for thread in threads:
        thread.start()
    writer = _manager(root)  # another process/admin publishing new versions
    for _ in range(3):
        edited = writer.load()
        edited.remove(["coupon"])
        writer.save(edited)
        manager.reload()
    done.set()
    for thread in threads:
        thread.join()
    assert not errors
    assert all(counts)
    assert manager.current.version == "v000004"
    assert manager.current.get("coupon") is None
    assert old.search("优惠券怎么用？").hits[0].id == "coupon"  # the old object still works


def test_rollback_goes_to_the_previous_version_and_keeps_it(root: Path) -> None:
    manager = SnapshotManager(root, HashingEmbedder(dimension=64), keep=2)
    edited = manager.load()
    edited.remove(["coupon"])
    for _ in range(3):
        manager.save(edited)
    assert manager.versions() == ["v000003", "v000004"]  # pruned, the previous one kept
    assert manager.rollback() == "v000003"
    assert (root / "CURRENT").read_text().strip() == "v000003"
    assert manager.current.version == "v000003"
    assert manager.reload().version == "v000003"  # reload follows the pointer: a rollback sticks
    with pytest.raises(Conflict):
        manager.rollback()


def test_saved_live_edits_survive_a_restart(root: Path) -> None:
    manager = _manager(root)
    kb = manager.current
    kb.add([FaqEntry(id="gift", question="可以把课程送给朋友吗？", answer="可以，在课程页点赠送。")])
    version = manager.save(kb)
    restarted = _manager(root).current
    assert restarted.version == version
    assert restarted.get("gift") is not None
    assert restarted.search("可以把课程送给朋友吗").hits[0].id == "gift"


def test_stale_when_sources_or_model_change(root: Path, faq_dir: Path, tmp_path: Path) -> None:
    sources = tmp_path / "faq"
    shutil.copytree(faq_dir, sources)
    manager = _manager(root)
    assert not manager.is_stale([sources])
    (sources / "faq.csv").write_text((sources / "faq.csv").read_text() + "new,新问题,新答案,x,,,zh\n")
    assert manager.is_stale([sources])
    other_model = SnapshotManager(root, HashingEmbedder(dimension=64, name="another-model"))
    assert other_model.is_stale([faq_dir])
    assert _manager(tmp_path / "empty").is_stale([faq_dir])


def test_unfinished_builds_are_ignored(root: Path) -> None:
    (root / "snapshots" / ".tmp-123-456").mkdir()
    (root / "snapshots" / "v000009").mkdir()  # a crash before the manifest was written
    assert _manager(root).versions() == ["v000001"]
    assert _manager(root).latest() == "v000001"


def test_missing_snapshot_and_wrong_model_are_clear_errors(root: Path, tmp_path: Path) -> None:
    with pytest.raises(Unavailable):
        _ = _manager(tmp_path / "nothing").current
    with pytest.raises(ConfigError, match="rebuild"):
        SnapshotManager(root, HashingEmbedder(dimension=64, name="another-model")).load()
