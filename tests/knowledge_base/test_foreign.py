"""Near-domain out-of-scope probes: FAQ wordings about a thing the FAQ never names."""

from __future__ import annotations

import random
from collections.abc import Sequence

import numpy as np

from assistant.text import has_cjk
from knowledge_base.analysis import analyze
from knowledge_base.expansion import word_gloss
from knowledge_base.foreign import dictionary_nouns, foreign_texts, foreign_things, swap_topic
from knowledge_base.indexes import IndexConfig, IndexSet
from knowledge_base.models import FaqEntry


def _index(entries: list[FaqEntry]) -> IndexSet:
    config = IndexConfig(dense=False, gloss=False)
    return IndexSet.empty(config, 0, 64).add(entries, None)


def test_dictionary_nouns_are_short_chinese_words() -> None:
    nouns = dictionary_nouns()
    assert len(nouns) > 1_000
    assert all(2 <= len(n) <= 3 and has_cjk(n) for n in nouns)


def test_swapping_replaces_the_topic_or_names_an_owner() -> None:
    rng = random.Random(0)
    seen = {swap_topic("支付宝开通的自动续费怎么取消？", "酒店", rng) for _ in range(30)}
    assert "酒店开通的自动续费怎么取消？" in seen or "支付宝开通的自动酒店怎么取消？" in seen
    assert "酒店的支付宝开通的自动续费怎么取消？" in seen
    assert all("酒店" in s for s in seen)
    english = {swap_topic("How do I cancel auto-renewal?", "hotel", rng) for _ in range(30)}
    assert all("hotel" in s and s != "How do I cancel auto-renewal?" for s in english)


def test_foreign_things_are_absent_from_the_faq(faq_entries: list[FaqEntry]) -> None:
    ix = _index(faq_entries)
    vocab = ix.sparse["words"]
    things = foreign_things(ix, random.Random(1), None)
    assert len(things) > 100
    assert all(analyze(t).words[0] not in vocab for t in things)
    assert any(not has_cjk(t) for t in things)  # some typed in Latin letters, like brand names


def test_things_whose_gloss_is_near_an_faq_word_are_left_out(faq_entries: list[FaqEntry]) -> None:
    config = IndexConfig(channels=("words",), dense=True)
    ix = IndexSet.empty(config, 2, 64).add(faq_entries, lambda texts: np.tile([1.0, 0.0], (len(texts), 1)))
    unfiltered = foreign_things(ix, random.Random(2), None)
    near = unfiltered[0]
    far = {word_gloss(analyze(t).words[0]) for t in unfiltered[1:]} - {word_gloss(analyze(near).words[0])}

    def embed(texts: Sequence[str]) -> np.ndarray:
        # FAQ words all point one way; the glosses of the other things point elsewhere
        return np.asarray([[0.0, 1.0] if t in far else [1.0, 0.0] for t in texts], dtype=np.float32)

    filtered = foreign_things(ix, random.Random(2), embed)
    assert near not in filtered
    assert len(filtered) >= len(unfiltered) - 3


def test_one_probe_per_entry_each_naming_a_foreign_thing(faq_entries: list[FaqEntry]) -> None:
    ix = _index(faq_entries)
    slots = [i for i, e in enumerate(ix.entries) if e is not None]
    probes = foreign_texts(ix, slots, random.Random(3), None)
    assert len(probes) >= len(slots) - 2
    for slot, text in probes:
        entry = ix.entries[slot]
        assert entry is not None
        assert text not in entry.all_questions
