"""With several workers, a snapshot one worker publishes (or rolls back to) is served by the others too."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

from api.runtime import follow_published_kb


class SharedSnapshots:
    """The snapshot root's pointer file, as every worker sees it."""

    def __init__(self) -> None:
        self.published = "v000001"

    def latest(self) -> str:
        return self.published


class WorkerContent:
    """One worker's content manager: serves a version until it reloads."""

    def __init__(self, snapshots: SharedSnapshots) -> None:
        self.snapshots = snapshots
        self.kb = SimpleNamespace(version=snapshots.latest())
        self.reloaded = threading.Event()

    def reload(self) -> str:
        self.kb = SimpleNamespace(version=self.snapshots.latest())
        self.reloaded.set()
        return str(self.kb.version)


def test_another_workers_publish_and_rollback_are_followed() -> None:
    shared = SharedSnapshots()
    worker = WorkerContent(shared)
    stop = follow_published_kb(worker, interval_seconds=0.01)
    try:
        time.sleep(0.05)
        assert not worker.reloaded.is_set()  # nothing new: no reload
        shared.published = "v000002"  # another worker published
        assert worker.reloaded.wait(timeout=5)
        assert worker.kb.version == "v000002"
        worker.reloaded.clear()
        shared.published = "v000001"  # and rolled back
        assert worker.reloaded.wait(timeout=5)
        assert worker.kb.version == "v000001"
    finally:
        stop()
