"""Near-domain out-of-scope probes made from the FAQ's own wordings: the topic swapped for a thing it never names.

Users ask a support assistant about other products (取消爱奇艺的自动续费, cancel my spotify premium). Such a
question shares almost every word with an FAQ entry except the one naming its object, so neither generic
out-of-scope lines nor held-out entries teach the fusion to reject it. These probes do: an FAQ question whose
topic word is replaced by, or owned by, a common noun the FAQ never uses and whose gloss is far from every FAQ
word (so 课本 never stands in for 课程 as a "foreign" thing).
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from assistant import text as _text
from assistant.embedding import normalize_rows
from assistant.gloss import lexicon
from assistant.text import has_cjk
from knowledge_base.analysis import QUESTION_WORDS, analyze, general_idf, stopwords
from knowledge_base.expansion import MIN_SIMILARITY, word_gloss
from knowledge_base.indexes import Embed, IndexSet

NOUN_TAGS = frozenset({"n", "nz", "nt", "ns"})  # common nouns, brands and other names, organisations, places
MIN_FREQ, MAX_FREQ = 100, 5_000  # known to most users, yet not so common that it is generic (东西, 问题)
POOL = 600  # candidate nouns drawn per build, before filtering against the FAQ
LATIN_SHARE = 0.3  # share of foreign things typed in Latin letters (netflix的会员), from their English gloss
_ASCII_WORD = re.compile(r"^[A-Za-z]{3,12}$")


@lru_cache(maxsize=1)
def dictionary_nouns() -> tuple[str, ...]:
    """Two- and three-character nouns of moderate frequency from jieba's dictionary, in dictionary order."""
    out: list[str] = []
    with _text._get_jieba().get_dict_file() as handle:
        for raw in handle:
            parts = (raw.decode("utf-8") if isinstance(raw, bytes) else raw).split()
            noun = len(parts) == 3 and parts[2] in NOUN_TAGS and 2 <= len(parts[0]) <= 3 and has_cjk(parts[0])
            if noun and MIN_FREQ <= int(parts[1]) <= MAX_FREQ:
                out.append(parts[0])
    return tuple(out)


def _english_name(word: str) -> str | None:
    """A one-word English gloss of a noun (酒店 -> hotel), lower-cased, or None."""
    senses = lexicon().get(word, ())
    return senses[0].lower() if senses and _ASCII_WORD.match(senses[0]) else None


def foreign_things(ix: IndexSet, rng: random.Random, embed: Embed | None) -> list[str]:
    """Nouns (and some of their English names) that the FAQ never uses and that mean nothing close to its words."""
    vocab = ix.sparse.get("words")
    pool = rng.sample(dictionary_nouns(), min(POOL, len(dictionary_nouns())))
    things = []
    for thing in [*pool, *filter(None, map(_english_name, pool))]:
        tokens = analyze(thing).words
        if len(tokens) != 1 or (vocab is not None and tokens[0] in vocab) or tokens[0] in stopwords():
            continue
        things.append(thing)
    table = ix.word_vectors
    if embed is None or table is None or not len(table.words) or not things:
        return things
    vectors = normalize_rows(np.asarray(embed([word_gloss(analyze(t).words[0]) for t in things]), dtype=np.float32))
    nearest = (vectors @ table.matrix.T).max(axis=1)
    return [t for t, sim in zip(things, nearest, strict=True) if sim < MIN_SIMILARITY]


def _topic(text: str, rng: random.Random) -> str | None:
    """The word naming what a wording is about: among its two rarest content words (by general usage)."""
    lowered = text.lower()
    words = [
        w
        for w in dict.fromkeys(analyze(text).words)
        if w in lowered and w not in QUESTION_WORDS and (len(w) >= 2 if has_cjk(w) else len(w) >= 4)
    ]
    if not words:
        return None
    ranked = sorted(words, key=lambda w: -general_idf(w) if has_cjk(w) else -len(w))
    return rng.choice(ranked[:2])


def swap_topic(text: str, thing: str, rng: random.Random) -> str:
    """`text` about `thing` instead: its topic word replaced, or `thing` named as the owner (X的…, X …)."""
    topic = _topic(text, rng)
    if topic is not None and rng.random() < 0.6:
        pattern = re.escape(topic) if has_cjk(topic) else rf"\b{re.escape(topic)}\w*"
        return re.sub(pattern, thing, text, count=1, flags=re.IGNORECASE)
    if has_cjk(text):
        return f"{thing}的{text}" if has_cjk(thing) else f"{thing} {text}"
    return f"{text} ({thing})" if rng.random() < 0.5 else f"{thing}: {text}"


def foreign_texts(ix: IndexSet, slots: Sequence[int], rng: random.Random, embed: Embed | None) -> list[tuple[int, str]]:
    """(source slot, probe text) pairs: one wording per slot about a foreign thing."""
    things = foreign_things(ix, rng, embed)
    latin = [t for t in things if not has_cjk(t)]
    chinese = [t for t in things if has_cjk(t)]
    out = []
    for slot in slots:
        entry = ix.entries[slot]
        if entry is None:
            continue
        source = rng.choice(entry.all_questions)
        pool = chinese if has_cjk(source) and (rng.random() >= LATIN_SHARE or not latin) else latin
        if not pool:
            continue
        probe = swap_topic(source, rng.choice(pool), rng)
        if probe != source:
            out.append((slot, probe))
    return out
