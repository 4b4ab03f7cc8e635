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


def test_the_tail_summary_compares_the_slowest_tenth_of_the_turns_with_the_rest() -> None:
    from bench.turn_bench import SPLIT, TurnCost, render_split, tail_summary

    def turn(cpu: float, texts: int, action: str = "answer") -> TurnCost:
        return TurnCost(cpu, {"model": cpu / 2, "kb": cpu / 4}, texts, texts + 1, 0.5 if cpu > 50 else 0.0, action)

    turns = [turn(20.0 + i, 2) for i in range(18)] + [turn(90.0, 6, "clarify"), turn(60.0, 4, "handoff")]
    tail = tail_summary(turns)
    assert tail["turns"] == 20
    assert (tail["cpu_ms"]["p50"], tail["cpu_ms"]["p95"], tail["cpu_ms"]["p99"]) == (30.0, 90.0, 90.0)
    slowest, rest = tail["slowest"], tail["rest"]
    assert (slowest["turns"], rest["turns"]) == (2, 18)
    assert (slowest["cpu_ms"], slowest["components"]["model"], slowest["components"]["other"]) == (75.0, 37.5, 0)
    assert (slowest["model_texts"], slowest["kb_queries"], slowest["gc_ms"]) == (5.0, 6.0, 0.5)
    assert (slowest["actions"], rest["actions"]) == ({"clarify": 1, "handoff": 1}, {"answer": 18})
    assert (rest["cpu_ms"], rest["gc_ms"]) == (28.5, 0.0)
    lines = render_split(dict.fromkeys(SPLIT, 1.0), tail, 20)
    table = [line for line in lines if line.startswith("|")]
    assert len({line.count("|") for line in table[-4:]}) == 1  # header, rule and both rows: the same columns
    assert table[-2].startswith("| slowest 2 | 75.0 |")
    assert tail_summary([])["slowest"]["turns"] == 0  # no turns: zeros, no division by zero
