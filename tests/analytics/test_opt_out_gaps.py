"""Users who opted out of training never feed the knowledge-gap mining."""

from __future__ import annotations

import time

from assistant.analytics.periods import resolve_period
from assistant.analytics.service import AnalyticsService
from assistant.embedding import HashingEmbedder
from storage.ports import StoredEvent
from storage.sqlite import SqliteStore


def test_opted_out_users_questions_are_not_mined() -> None:
    store = SqliteStore(":memory:")
    now = time.time()
    store.put("user", "keep", {"id": "keep", "training_opt_out": False}, owner="keep")
    store.put("user", "private", {"id": "private", "training_opt_out": True}, owner="private")
    store.append_events(
        [
            StoredEvent("fallback", now - 60, "c1", "keep", {"text": "课程字幕可以下载吗"}),
            StoredEvent("fallback", now - 50, "c2", "private", {"text": "平板横屏显示不全怎么办"}),
        ]
    )
    service = AnalyticsService(store, embedder=HashingEmbedder())
    report = service.gaps(resolve_period(None, None, timezone="Asia/Shanghai", now=now + 1))
    joined = " ".join(example.text for cluster in report.clusters for example in cluster.examples)
    assert "字幕" in joined
    assert "横屏" not in joined
