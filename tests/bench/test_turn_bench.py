"""The turn benchmark's honesty helpers: texts never repeat, and the server's cache counters are read back."""

from __future__ import annotations

import itertools
import time
from types import SimpleNamespace

from api.metrics import Metrics
from assistant.embedding import BatchingEmbedder, CachingEmbedder, HashingEmbedder
from bench.turn_bench import CpuSplit, base_texts, distinct_texts, parse_counters
from storage.sqlite import SqliteStore


def test_benchmark_texts_never_repeat_even_past_every_phrasing() -> None:
    base = ["课程怎么退款？", "会员多少钱", "课程怎么退款"]  # two spellings of one question
    texts = list(itertools.islice(distinct_texts(base), 500))  # far more than base x phrasings
    assert len(set(texts)) == len(texts)
    assert all(any(q.rstrip("？") in t for q in base) for t in texts)


def test_benchmark_texts_come_from_the_dev_sets_only() -> None:
    texts = base_texts()
    assert len(texts) > 200
    assert len(set(texts)) == len(texts)


def test_the_cache_hit_rate_is_read_from_the_servers_metrics() -> None:
    batcher = BatchingEmbedder(HashingEmbedder())
    embedder = CachingEmbedder(batcher)
    embedder.embed(["课程怎么退款", "会员多少钱"])
    embedder.embed(["课程怎么退款"])
    store = SqliteStore(":memory:")
    try:
        metrics = Metrics()
        metrics.attach(SimpleNamespace(store=store, components={}, embedder=embedder))
        pid, counters = parse_counters(metrics.exposition().decode())
    finally:
        batcher.close()
        store.close()
    assert pid.isdigit()
    assert (counters.cache_hits, counters.cache_misses) == (1, 2)
    assert (counters.batches, counters.batched_texts) == (1, 2)


def test_the_cpu_split_charges_each_call_to_the_innermost_component() -> None:
    class Work:
        def spin(self, seconds: float) -> None:
            end = time.thread_time() + seconds
            while time.thread_time() < end:
                pass

        def outer(self) -> None:
            self.spin(0.02)
            inner.inner()
            self.spin(0.02)

    class Inner:
        def inner(self) -> None:
            Work.spin(Work(), 0.05)

    work, inner = Work(), Inner()
    split = CpuSplit()
    split.wrap(work, "outer", "outer")
    split.wrap(inner, "inner", "inner")
    work.outer()
    assert split.seconds["inner"] >= 0.05
    assert 0.04 <= split.seconds["outer"] < 0.05  # its own 40 ms, not the inner call's 50
