"""Versioned snapshots on disk and the live KnowledgeBase: build, publish, reload, roll back, detect staleness.

Layout: `<root>/snapshots/<version>/` (one directory per build) and `<root>/CURRENT`, a pointer file naming
the published version. Directories and the pointer are switched with `os.replace`, so a reader never sees
a half-written snapshot and a crash leaves the previous version published.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path

from assistant.embedding import Embedder
from assistant.errors import Conflict, Unavailable
from knowledge_base.builder import build_knowledge_base
from knowledge_base.indexes import IndexConfig, Progress
from knowledge_base.knowledge import KnowledgeBase
from knowledge_base.models import FaqEntry
from knowledge_base.snapshot_io import read_manifest, read_snapshot, write_snapshot
from knowledge_base.sources import source_checksum

POINTER = "CURRENT"
_VERSION_RE = re.compile(r"^v(\d{6})$")


class SnapshotManager:
    """Owns a snapshot root and the KnowledgeBase currently served from it.

    `current` is swapped by plain reference assignment: searches already running keep the object they
    started with, so `reload`, `build` and `rollback` never fail an in-flight request.
    """

    def __init__(self, root: str | Path, embedder: Embedder | None, *, keep: int = 5) -> None:
        self.root = Path(root)
        self._embedder = embedder
        self._keep = max(keep, 2)  # the previous version always survives pruning, for rollback
        self._current: KnowledgeBase | None = None
        self._lock = threading.RLock()

    @property
    def snapshots_dir(self) -> Path:
        """Where the version directories live."""
        return self.root / "snapshots"

    def versions(self) -> list[str]:
        """Complete snapshot versions on disk, oldest first."""
        if not self.snapshots_dir.is_dir():
            return []
        found = [
            p.name
            for p in self.snapshots_dir.iterdir()
            if _VERSION_RE.match(p.name) and (p / "manifest.json").is_file()
        ]
        return sorted(found)

    def latest(self) -> str | None:
        """The published version (named by the pointer file), else the newest complete one, else None."""
        pointer = self.root / POINTER
        if pointer.is_file():
            name = pointer.read_text(encoding="utf-8").strip()
            if (self.snapshots_dir / name / "manifest.json").is_file():
                return name
        versions = self.versions()
        return versions[-1] if versions else None

    def path(self, version: str) -> Path:
        """The directory of one version."""
        return self.snapshots_dir / version

    def load(self, version: str | None = None) -> KnowledgeBase:
        """Load a version (default: the published one) without making it current."""
        name = version or self.latest()
        if name is None:
            raise Unavailable(f"no knowledge-base snapshot in {self.root}")
        if not (self.snapshots_dir / name / "manifest.json").is_file():
            raise Unavailable(f"no knowledge-base snapshot {name} in {self.root}")
        return read_snapshot(self.snapshots_dir / name, self._embedder)

    @property
    def current(self) -> KnowledgeBase:
        """The KnowledgeBase in use (the published snapshot, loaded on first access)."""
        kb = self._current
        if kb is None:
            with self._lock:
                if self._current is None:
                    self._current = self.load()
                kb = self._current
        return kb

    def build(
        self,
        entries: Sequence[FaqEntry],
        source_checksum: str,
        *,
        config: IndexConfig | None = None,
        progress: Progress | None = None,
    ) -> str:
        """Build a new snapshot from entries, publish it and make it current; returns its version."""
        kb = build_knowledge_base(
            entries, self._embedder, config=config, source_checksum=source_checksum, progress=progress
        )
        return self._publish(kb, source_checksum)

    def save(self, kb: KnowledgeBase, source_checksum: str | None = None) -> str:
        """Persist a live-edited KnowledgeBase (after `add`/`remove`) as a new published version."""
        return self._publish(kb, kb.manifest.source_checksum if source_checksum is None else source_checksum)

    def _publish(self, kb: KnowledgeBase, checksum: str) -> str:
        with self._lock:
            self.snapshots_dir.mkdir(parents=True, exist_ok=True)
            tmp = self.snapshots_dir / f".tmp-{os.getpid()}-{threading.get_ident()}"
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir()
            while True:
                version = self._next_version()
                manifest = replace(kb.manifest, version=version, source_checksum=checksum)
                write_snapshot(kb, tmp, manifest)
                try:
                    os.rename(tmp, self.snapshots_dir / version)  # fails if another builder took the name
                    break
                except OSError:
                    if not (self.snapshots_dir / version).exists():
                        raise
            self._point_to(version)
            self._current = read_snapshot(self.snapshots_dir / version, self._embedder)
            self._prune()
            return version

    def _next_version(self) -> str:
        numbers = [int(m.group(1)) for v in self.versions() if (m := _VERSION_RE.match(v))]
        return f"v{max(numbers, default=0) + 1:06d}"

    def _point_to(self, version: str) -> None:
        tmp = self.root / f".{POINTER}.tmp-{os.getpid()}-{threading.get_ident()}"
        tmp.write_text(version + "\n", encoding="utf-8")
        os.replace(tmp, self.root / POINTER)

    def reload(self) -> KnowledgeBase:
        """Load the published version and swap it in if it differs from the current one."""
        with self._lock:
            name = self.latest()
            if name is None:
                raise Unavailable(f"no knowledge-base snapshot in {self.root}")
            if self._current is None or self._current.version != name or self._current.changes:
                self._current = self.load(name)
            return self._current

    def rollback(self) -> str:
        """Publish and load the version before the published one; returns it."""
        with self._lock:
            versions = self.versions()
            name = self.latest()
            older = [v for v in versions if name is not None and v < name]
            if not older:
                raise Conflict(f"no snapshot older than {name} to roll back to in {self.root}")
            target = older[-1]
            kb = self.load(target)
            self._point_to(target)
            self._current = kb
            return target

    def is_stale(self, source_paths: Iterable[str | Path]) -> bool:
        """True when there is no snapshot, the sources changed, or the embedding model differs."""
        name = self.latest()
        if name is None:
            return True
        manifest = read_manifest(self.snapshots_dir / name)
        model = self._embedder.name if self._embedder is not None else ""
        return manifest.source_checksum != source_checksum(source_paths) or (
            manifest.config.dense and manifest.model != model
        )

    def _prune(self) -> None:
        versions = self.versions()
        published = self.latest()
        keep = set(versions[-self._keep :])
        if published in versions:
            index = versions.index(published)
            keep.update(versions[max(0, index - 1) : index + 1])
        for version in versions:
            if version not in keep:
                shutil.rmtree(self.snapshots_dir / version, ignore_errors=True)
