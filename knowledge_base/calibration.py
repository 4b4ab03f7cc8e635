"""Build-time calibration data from the FAQ itself: leave-one-out and perturbed probes, follow-ups, OOS."""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from importlib import resources

import numpy as np

from assistant.text import has_cjk
from knowledge_base.analysis import QUESTION_WORDS, analyze, general_idf
from knowledge_base.analysis import gloss as gloss_text
from knowledge_base.expansion import word_gloss
from knowledge_base.features import NO_VECTORS, QueryVectors, follow_up_vectors, missing_words, score_candidates
from knowledge_base.foreign import foreign_texts
from knowledge_base.fusion import TrainingSet
from knowledge_base.indexes import Embed, IndexSet, Progress, embed_texts
from knowledge_base.models import FaqEntry
from knowledge_base.perturb import perturb

MAX_ENTRIES = 300  # probes come from at most this many entries: calibration cost stays flat for big KBs
ALT_PROBES = 3
ENTRY_OUT_SHARE = 0.35
CROSS_LINGUAL_SHARE = 0.3
_CLAUSE_SEP = re.compile(r"[,;]+")
FOREIGN_PER_ENTRY = 1  # wordings per entry about a thing the FAQ never names (knowledge_base.foreign)
TRAIN_NEGATIVES = 16  # hardest negatives kept per probe: easy ones teach nothing and slow the fit
_OOS_GROUP = 1 << 40
# Follow-ups with and without cue words: users often just name the new thing (电脑上可以吗, 多少钱).
_ZH_FOLLOW = (
    "那{x}呢？",
    "{x}呢",
    "{x}的话呢？",
    "那{x}的呢",
    "换成{x}呢",
    "如果是{x}呢？",
    "{x}也一样吗",
    "{x}",
    "{x}可以吗",
    "{x}？",
)
_EN_FOLLOW = ("what about {x}?", "and {x}?", "how about {x}", "same for {x}?", "{x}?", "{x}")
FOLLOW_UPS_PER_ENTRY = 2
# "要花钱吗", "多久能收到" right after an answer ask about a detail of that same answer: follow-ups naming a word
# of the entry's answer that none of its questions use, with the entry's own question as the context.
_ZH_DETAIL = ("{x}吗", "要{x}吗", "有{x}吗", "{x}呢", "{x}怎么算", "{x}？", "那{x}呢", "{x}的话")
_EN_DETAIL = ("{x}?", "what about {x}?", "is there {x}?", "and the {x}?", "{x}")
DETAIL_FOLLOW_UP_SHARE = 0.5  # share of entries with such a follow-up about their own answer
STANDALONE_WITH_CONTEXT = 0.25  # share of plain probes repeated with an unrelated or nearby context


@dataclass(frozen=True)
class Probe:
    """A pseudo-query with its right entry slot (-1: none), hidden documents and an optional context."""

    query: str
    target: int
    exclude: tuple[int, ...]
    group: int
    context: str | None = None


@lru_cache(maxsize=1)
def oos_corpus() -> tuple[str, ...]:
    """The generic out-of-scope queries shipped in knowledge_base/data/oos_generic.txt."""
    text = resources.files("knowledge_base").joinpath("data/oos_generic.txt").read_text(encoding="utf-8")
    return tuple(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def _sample_slots(ix: IndexSet, rng: random.Random) -> list[int]:
    slots = [i for i, entry in enumerate(ix.entries) if entry is not None]
    return sorted(rng.sample(slots, MAX_ENTRIES)) if len(slots) > MAX_ENTRIES else slots


def plain_probes(ix: IndexSet, rng: random.Random, embed: Embed | None = None) -> list[Probe]:
    """Held-out alternatives, perturbed questions, held-out entries and wordings about foreign things (negatives),
    and the OOS corpus."""
    probes: list[Probe] = []
    slots = _sample_slots(ix, rng)
    for slot in slots:
        entry = ix.entries[slot]
        assert entry is not None
        docs = ix.docs_of(slot)
        positions = ix.doc_pos[docs]
        alt_docs = [int(d) for d in docs[positions >= 1]]
        question_doc = int(docs[positions == 0][0])
        for doc in rng.sample(alt_docs, min(ALT_PROBES, len(alt_docs))):
            text = ix.doc_text(doc)
            query = perturb(text, rng) if rng.random() < 0.5 else text
            probes.append(Probe(query, slot, (doc,), slot))
        for _ in range(2 if alt_docs else 4):
            # hiding the question makes the probe match through the alternatives only: a harder positive
            hide = (question_doc,) if alt_docs and rng.random() < 0.5 else ()
            probes.append(Probe(perturb(entry.question, rng), slot, hide, slot))
        if has_cjk(entry.question) and rng.random() < CROSS_LINGUAL_SHARE:
            # users write English about entries written only in Chinese: the English gloss of a held-out
            # wording stands in for such a question, so the fusion learns to trust the gloss channel then
            doc = rng.choice(alt_docs) if alt_docs else question_doc
            english = _CLAUSE_SEP.sub(" ", gloss_text(ix.doc_text(doc))).strip()
            if english:
                probes.append(Probe(english, slot, (doc,), slot))
        if rng.random() < ENTRY_OUT_SHARE:
            # the whole entry hidden: an in-domain question the FAQ does not answer
            source = rng.choice(entry.all_questions)
            query = perturb(source, rng) if rng.random() < 0.5 else source
            probes.append(Probe(query, -1, tuple(int(d) for d in docs), slot))
    foreign = [slot for slot in slots for _ in range(FOREIGN_PER_ENTRY)]
    probes.extend(Probe(text, -1, (), slot) for slot, text in foreign_texts(ix, foreign, rng, embed))
    probes.extend(Probe(line, -1, (), _OOS_GROUP + i) for i, line in enumerate(oos_corpus()))
    return probes


def _neighbour(ix: IndexSet, slot: int, rng: random.Random) -> int | None:
    """A related entry (the previous turn of a plausible follow-up): same category, else shared words."""
    entry = ix.entries[slot]
    if entry is None:
        return None
    if entry.category:
        same = [
            i
            for i, e in enumerate(ix.entries)
            if e is not None and i != slot and e.category == entry.category and e.locale == entry.locale
        ]
        if same:
            return rng.choice(same)
    words = ix.sparse.get("words")
    if words is None:
        return None
    scores = words.scores(words.encode(analyze(entry.question).words))
    top = np.argsort(-scores)[:12]
    slots = [int(ix.doc_slot[d]) for d in top if scores[d] > 0 and ix.doc_slot[d] not in (slot, -1)]
    slots = list(dict.fromkeys(slots))[:4]
    return rng.choice(slots) if slots else None


def _fresh_words(text: str, known: FaqEntry) -> list[str]:
    """The words of `text` (each once, in order) that none of `known`'s questions use and that can name a thing:
    no question words, at least two characters in Chinese or three letters in English."""
    seen = {w for q in known.all_questions for w in analyze(q).words}
    return [
        w
        for w in dict.fromkeys(analyze(text).words)
        if w not in seen and w not in QUESTION_WORDS and (len(w) >= 2 if has_cjk(w) else len(w) >= 3)
    ]


def _follow_up(ix: IndexSet, slot: int, other: int, rng: random.Random) -> str | None:
    """A short follow-up naming what sets `slot` apart from `other`: 那会员呢？ after a course refund."""
    entry, previous = ix.entries[slot], ix.entries[other]
    if entry is None or previous is None:
        return None
    source = entry.question if rng.random() < 0.7 else rng.choice(entry.all_questions)
    fresh = _fresh_words(source, previous)
    if not fresh:
        return None
    # questions put their topic first (训练营可以退款吗, 支付宝开通的自动续费…): name the first new word
    chosen = fresh[:2] if len(fresh) > 1 and rng.random() < 0.3 else fresh[:1]
    zh = has_cjk(entry.question)
    fragment = ("" if zh and all(has_cjk(w) for w in chosen) else " ").join(chosen)
    return rng.choice(_ZH_FOLLOW if zh else _EN_FOLLOW).format(x=fragment)


def _detail_follow_up(entry: FaqEntry, rng: random.Random) -> str | None:
    """A short follow-up about a detail only the entry's answer mentions: 要花钱吗 after the course-extension answer."""
    if not entry.answer:
        return None
    fresh = _fresh_words(entry.answer, entry)
    if not fresh:
        return None
    # the rarer half: what a user asks about (费用, 邮寄) rather than the answer's filler (进入, 内容)
    fresh.sort(key=general_idf, reverse=True)
    word = rng.choice(fresh[: max(1, len(fresh) // 2)])
    return rng.choice(_ZH_DETAIL if has_cjk(entry.question) else _EN_DETAIL).format(x=word)


def context_probes(ix: IndexSet, plain: Sequence[Probe], rng: random.Random) -> list[Probe]:
    """Follow-ups whose meaning needs the context, plus standalone and OOS queries with a context."""
    probes: list[Probe] = []
    live = [i for i, entry in enumerate(ix.entries) if entry is not None]
    for slot in _sample_slots(ix, rng):
        for _ in range(FOLLOW_UPS_PER_ENTRY):
            other = _neighbour(ix, slot, rng)
            if other is not None and (query := _follow_up(ix, slot, other, rng)):
                previous = ix.entries[other]
                assert previous is not None
                probes.append(Probe(query, slot, (), slot, rng.choice(previous.all_questions[:2])))
    # their own generator: adding them leaves every other probe as it was
    detail_rng = random.Random(len(live))
    for slot in _sample_slots(ix, detail_rng):
        entry = ix.entries[slot]
        if entry is None or detail_rng.random() >= DETAIL_FOLLOW_UP_SHARE:
            continue
        if query := _detail_follow_up(entry, detail_rng):
            probes.append(Probe(query, slot, (), slot, detail_rng.choice(entry.all_questions[:2])))
    for probe in plain:
        if rng.random() >= STANDALONE_WITH_CONTEXT:
            continue
        other = probe.target if probe.target >= 0 and rng.random() < 0.1 else None
        if other is None and probe.target >= 0 and rng.random() < 0.5:
            other = _neighbour(ix, probe.target, rng)
        other = other if other is not None else rng.choice(live)
        previous = ix.entries[other]
        assert previous is not None
        probes.append(replace(probe, context=previous.question))
    oos_words = [w for line in oos_corpus() for w in analyze(line).words if len(w) >= 2]
    for i in range(min(len(oos_words), 120)):
        previous = ix.entries[rng.choice(live)]
        assert previous is not None
        word = rng.choice(oos_words)
        template = rng.choice(_ZH_FOLLOW if has_cjk(word) else _EN_FOLLOW)
        probes.append(Probe(template.format(x=word), -1, (), _OOS_GROUP + 100_000 + i, previous.question))
    return probes


def training_set(
    ix: IndexSet,
    probes: Sequence[Probe],
    embed: Embed | None,
    progress: Progress | None = None,
    negatives: int | None = TRAIN_NEGATIVES,
) -> TrainingSet:
    """Run every probe through candidate generation and features; label the rows of the right entry.

    `negatives`: the hardest wrong rows kept per probe (None: every candidate)."""
    vectors: list[QueryVectors] = [NO_VECTORS] * len(probes)
    context_vectors: list[tuple[QueryVectors, QueryVectors]] = [(NO_VECTORS, NO_VECTORS)] * len(probes)
    if embed is not None and ix.config.dense:
        # the same vectors search uses: contexts are FAQ questions (stored vectors), context + query is the
        # normalised sum of the two
        queries = [p.query for p in probes]
        glossed = ix.gloss is not None
        gloss_texts = [gloss_text(q) for q in queries] if glossed else []
        new_words = missing_words(ix, queries + [p.context for p in probes if p.context is not None])
        everything = queries + gloss_texts + [word_gloss(w) for w in new_words]
        matrix = embed_texts(embed, everything, progress, "embedding calibration queries")
        gloss_matrix = matrix[len(queries) : len(queries) + len(gloss_texts)] if glossed else None
        words = dict(zip(new_words, matrix[len(queries) + len(gloss_texts) :], strict=True))
        vectors = [
            QueryVectors(matrix[i], gloss_matrix[i] if gloss_matrix is not None else None, words)
            for i in range(len(probes))
        ]
        contexts = [p.context for p in probes if p.context is not None]
        stored = ix.vectors_for(contexts, embed)
        stored_gloss = ix.vectors_for(contexts, embed, glossed=True)
        by_text = dict(zip(contexts, stored, strict=True)) if stored is not None else {}
        gloss_by_text = dict(zip(contexts, stored_gloss, strict=True)) if stored_gloss is not None else {}
        for index, probe in enumerate(probes):
            if probe.context is not None:
                alone = QueryVectors(by_text[probe.context], gloss_by_text.get(probe.context))
                context_vectors[index] = follow_up_vectors(vectors[index], alone)
    advance = progress("calibrating", len(probes)) if progress is not None else None
    rows: list[np.ndarray] = []
    labels: list[np.ndarray] = []
    owners: list[np.ndarray] = []
    for index, probe in enumerate(probes):
        found = score_candidates(
            ix,
            probe.query,
            vectors[index],
            context=probe.context,
            context_vectors=context_vectors[index],
            exclude=np.asarray(probe.exclude, dtype=np.int64),
        )
        is_target = found.slots == probe.target
        keep = np.argsort(-np.where(is_target, np.inf, found.prior), kind="stable")
        keep = keep if negatives is None else keep[: negatives + 1]
        rows.append(found.matrix[keep])
        labels.append(is_target[keep])
        owners.append(np.full(len(keep), index))
        if advance is not None:
            advance(1)
    width = rows[0].shape[1] if rows else 0
    return TrainingSet(
        matrix=np.vstack(rows) if rows else np.zeros((0, width)),
        labels=np.concatenate(labels) if labels else np.zeros(0, dtype=bool),
        probe=np.concatenate(owners) if owners else np.zeros(0, dtype=np.int64),
        groups=np.asarray([p.group for p in probes], dtype=np.int64),
        in_scope=np.asarray([p.target >= 0 for p in probes], dtype=bool),
    )


def hardest_rows(data: TrainingSet, negatives: int = TRAIN_NEGATIVES) -> TrainingSet:
    """The rows `training_set(..., negatives)` keeps, taken from one built with every candidate (negatives=None):
    its rows per probe are already in that order (the right entry, then by prior), so each probe's first
    `negatives` + 1 rows are the same rows without computing the features twice."""
    if not len(data.probe):
        return data
    starts = np.r_[0, np.flatnonzero(np.diff(data.probe)) + 1]
    lengths = np.diff(np.r_[starts, len(data.probe)])
    position = np.arange(len(data.probe)) - np.repeat(starts, lengths)
    keep = position <= negatives
    return replace(data, matrix=data.matrix[keep], labels=data.labels[keep], probe=data.probe[keep])
