"""The searchable state of a knowledge base: entries by slot, their documents, dense and sparse indexes."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

import numpy as np

from knowledge_base.analysis import CHANNELS, analyze
from knowledge_base.analysis import gloss as gloss_text
from knowledge_base.boilerplate import shared_sentences, without_sentences
from knowledge_base.expansion import WordVectors, empty_word_vectors, word_gloss
from knowledge_base.fusion import POINTWISE
from knowledge_base.models import FaqEntry
from knowledge_base.sparse_index import Bm25SparseIndex
from knowledge_base.thesaurus import FaqSynonyms
from knowledge_base.vector_index import FaissVectorIndex

ANSWER_POS = -1  # doc_pos of an answer document; 0 is the question, 1.. the alternative questions

Embed = Callable[[Sequence[str]], np.ndarray]
# progress(stage, total) returns a callback that advances that stage by n (a tqdm bar in the CLI).
Progress = Callable[[str, int], Callable[[int], None]]


@dataclass(frozen=True)
class IndexConfig:
    """Which retrieval channels a knowledge base uses (the ablation switches)."""

    channels: tuple[str, ...] = CHANNELS
    dense: bool = True
    # answers hold the words users describe problems with (扣了两次, 黑屏): measured on the dev sets in README
    index_answers: bool = True
    # a second dense index over English dictionary glosses of the texts (see assistant.gloss)
    gloss: bool = True
    # the lexical channels that index answers too (None: every channel). Answers' char n-grams and pinyin are
    # 23M of a 100k-entry KB's 36M postings, but words only lost ranking (README: tried and dropped).
    answer_channels: tuple[str, ...] | None = None
    # Cilin synonyms of a query word among the FAQ's words count as its neighbours (soft channel, word cover)
    thesaurus: bool = False
    # the fusion model calibrated on this index: "pointwise", "choice" or "choice-matched" (knowledge_base.fusion);
    # README measures them
    fusion: str = POINTWISE
    # dense similarity to each entry's prototype (the normalised sum of its wordings' vectors) beside the best
    # single wording's; off by default: README measures it (it failed the rule for defaults)
    prototypes: bool = False
    # sentences pasted under at least a quarter of the answers left out of the indexed answers
    # (knowledge_base.boilerplate); off by default: README "Shapes of FAQs" measures it (it missed its check's
    # OOS criterion on the held-out FAQs)
    boilerplate: bool = False

    @property
    def glossed(self) -> bool:
        """Whether the gloss dense index is in use (it needs the embedder, like the dense index)."""
        return self.dense and self.gloss

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "channels": list(self.channels),
            "dense": self.dense,
            "index_answers": self.index_answers,
            "gloss": self.gloss,
            "answer_channels": None if self.answer_channels is None else list(self.answer_channels),
            "thesaurus": self.thesaurus,
            "fusion": self.fusion,
            "prototypes": self.prototypes,
            "boilerplate": self.boilerplate,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> IndexConfig:
        """Inverse of `to_json` (snapshots written before glosses existed have none; before answer channels,
        answers were indexed in every channel; before the thesaurus, none was used; before the choice fusion,
        every fusion was pointwise; before prototypes, none was used; before boilerplate, answers were whole)."""
        answer_channels = data.get("answer_channels")
        return cls(
            tuple(data["channels"]),
            bool(data["dense"]),
            bool(data["index_answers"]),
            bool(data.get("gloss", False)),
            None if answer_channels is None else tuple(answer_channels),
            bool(data.get("thesaurus", False)),
            str(data.get("fusion", POINTWISE)),
            bool(data.get("prototypes", False)),
            bool(data.get("boilerplate", False)),
        )

    def indexes_answer(self, channel: str) -> bool:
        """Whether answers are indexed in this lexical channel."""
        return self.index_answers and (self.answer_channels is None or channel in self.answer_channels)


def entry_documents(
    entry: FaqEntry, config: IndexConfig, boilerplate: frozenset[str] = frozenset()
) -> list[tuple[int, str]]:
    """(position, text) of every document an entry contributes: question, alternatives, maybe the answer.

    The answer's document leaves out `boilerplate`, sentences pasted under many answers (`knowledge_base.boilerplate`).
    """
    docs = list(enumerate(entry.all_questions))
    if config.index_answers:
        docs.append((ANSWER_POS, without_sentences(entry.answer, boilerplate)))
    return docs


@dataclass(frozen=True)
class IndexSet:
    """Immutable view of the indexes; `add`/`remove` return a new one so readers never see a half update."""

    config: IndexConfig
    dimension: int
    entries: tuple[FaqEntry | None, ...]
    slot_first: np.ndarray  # first document id of each slot (an entry's documents are contiguous)
    slot_count: np.ndarray
    doc_slot: np.ndarray  # slot of each document id, -1 once removed
    doc_pos: np.ndarray
    dense: FaissVectorIndex | None
    sparse: Mapping[str, Bm25SparseIndex]
    slot_of: Mapping[str, int] = field(default_factory=dict)
    gloss: FaissVectorIndex | None = None  # vectors of the documents' English glosses, same document ids
    word_vectors: WordVectors | None = None  # gloss vectors of the content words (query expansion)

    @classmethod
    def empty(cls, config: IndexConfig, dimension: int, expected_docs: int = 0) -> IndexSet:
        """An index set with no entries; HNSW is chosen when `expected_docs` is large."""
        dense = FaissVectorIndex.create(dimension, expected_docs) if config.dense else None
        glossed = FaissVectorIndex.create(dimension, expected_docs) if config.glossed else None
        sparse = {name: Bm25SparseIndex.build([]) for name in config.channels}
        no_ints = np.zeros(0, dtype=np.int64)
        words = empty_word_vectors(dimension) if config.glossed and "words" in config.channels else None
        return cls(config, dimension, (), no_ints, no_ints, no_ints, no_ints, dense, sparse, {}, glossed, words)

    @property
    def live_entries(self) -> list[FaqEntry]:
        """Entries in insertion order, without removed ones."""
        return [e for e in self.entries if e is not None]

    @property
    def doc_count(self) -> int:
        """Number of live documents."""
        return int((self.doc_slot >= 0).sum())

    def add(
        self,
        entries: Sequence[FaqEntry],
        embed: Embed | None,
        progress: Progress | None = None,
    ) -> IndexSet:
        """A new index set with these entries added; an existing id is replaced."""
        replaced = [e.id for e in entries if e.id in self.slot_of]
        base = self.remove(replaced) if replaced else self
        if len({e.id for e in entries}) != len(entries):
            raise ValueError("duplicate ids in the entries to add")
        first_doc = len(base.doc_slot)
        first_slot = len(base.entries)
        texts: list[str] = []
        new_slot: list[int] = []
        new_pos: list[int] = []
        firsts: list[int] = []
        counts: list[int] = []
        # the FAQ as it will be decides what is pasted under most answers; entries already indexed keep theirs
        boilerplate = (
            shared_sentences([e.answer for e in (*base.live_entries, *entries)])
            if self.config.boilerplate
            else frozenset()
        )
        for offset, entry in enumerate(entries):
            docs = entry_documents(entry, self.config, boilerplate)
            firsts.append(first_doc + len(texts))
            counts.append(len(docs))
            for pos, text in docs:
                texts.append(text)
                new_slot.append(first_slot + offset)
                new_pos.append(pos)
        doc_ids = np.arange(first_doc, first_doc + len(texts), dtype=np.int64)
        dense, glossed, word_vectors = base.dense, base.gloss, base.word_vectors
        if dense is not None and embed is None:
            raise ValueError("this knowledge base has a dense index: an embedder is required")
        analyses = [analyze(t) for t in texts]
        new_words = word_vectors.missing(w for a in analyses for w in a.words) if word_vectors is not None else []
        question = np.asarray(new_pos) != ANSWER_POS
        sparse = {}
        for name, index in base.sparse.items():
            kept = np.ones(len(texts), bool) if self.config.indexes_answer(name) else question
            picked = np.flatnonzero(kept).tolist()
            sparse[name] = index.with_docs([analyses[i].channel(name) for i in picked], doc_ids[kept].tolist())
        del analyses  # the token lists of 350k texts at 100k entries: freed before the vectors are built
        if dense is not None:
            assert embed is not None  # checked above, before the sparse indexes
            dense, glossed, word_vectors = _with_vectors(
                dense, glossed, word_vectors, doc_ids, texts, new_words, embed, progress
            )
        slot_of = dict(base.slot_of)
        slot_of.update((e.id, first_slot + i) for i, e in enumerate(entries))
        return replace(
            base,
            entries=base.entries + tuple(entries),
            slot_first=np.concatenate([base.slot_first, np.asarray(firsts, dtype=np.int64)]),
            slot_count=np.concatenate([base.slot_count, np.asarray(counts, dtype=np.int64)]),
            doc_slot=np.concatenate([base.doc_slot, np.asarray(new_slot, dtype=np.int64)]),
            doc_pos=np.concatenate([base.doc_pos, np.asarray(new_pos, dtype=np.int64)]),
            dense=dense,
            sparse=sparse,
            slot_of=slot_of,
            gloss=glossed,
            word_vectors=word_vectors,
        )

    def remove(self, ids: Iterable[str]) -> IndexSet:
        """A new index set without these entry ids (unknown ids are ignored)."""
        slots = [self.slot_of[i] for i in dict.fromkeys(ids) if i in self.slot_of]
        if not slots:
            return self
        doc_ids = np.concatenate(
            [np.arange(self.slot_first[s], self.slot_first[s] + self.slot_count[s]) for s in slots]
        )
        entries = list(self.entries)
        for slot in slots:
            entries[slot] = None
        doc_slot = self.doc_slot.copy()
        doc_slot[doc_ids] = -1
        slot_of = {k: v for k, v in self.slot_of.items() if v not in set(slots)}
        return replace(
            self,
            entries=tuple(entries),
            doc_slot=doc_slot,
            dense=self.dense.without(doc_ids) if self.dense is not None else None,
            sparse={name: index.without_docs(doc_ids) for name, index in self.sparse.items()},
            slot_of=slot_of,
            gloss=self.gloss.without(doc_ids) if self.gloss is not None else None,
        )

    @cached_property
    def faq_synonyms(self) -> FaqSynonyms | None:
        """The FAQ's content words by Cilin synonym group (None unless the configuration uses the thesaurus)."""
        if not self.config.thesaurus or self.word_vectors is None:
            return None
        return FaqSynonyms.build(w for w in self.word_vectors.words if w in self.sparse["words"])

    @cached_property
    def slot_is_zh(self) -> np.ndarray:
        """Per slot, whether the entry is Chinese (its locale starts with zh)."""
        return np.asarray([e is not None and e.locale.lower().startswith("zh") for e in self.entries], dtype=bool)

    @cached_property
    def question_docs(self) -> dict[str, int]:
        """Live question/alternative texts -> a document id (contexts are usually FAQ questions)."""
        out: dict[str, int] = {}
        for doc in np.flatnonzero((self.doc_slot >= 0) & (self.doc_pos >= 0)):
            out.setdefault(self.doc_text(int(doc)), int(doc))
        return out

    def vectors_for(self, texts: Sequence[str], embed: Embed | None, glossed: bool = False) -> np.ndarray | None:
        """Vectors of texts (or of their glosses): stored ones for FAQ questions, embedded (one call) for the rest."""
        index = self.gloss if glossed else self.dense
        if index is None:
            return None
        known = self.question_docs
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        missing = [i for i, t in enumerate(texts) if t not in known]
        stored = [i for i, t in enumerate(texts) if t in known]
        if stored:
            out[stored] = index.vectors(np.asarray([known[texts[i]] for i in stored]))
        if missing:
            if embed is None:
                return None
            out[missing] = embed([gloss_text(texts[i]) if glossed else texts[i] for i in missing])
        return out

    def docs_of(self, slot: int) -> np.ndarray:
        """Document ids of one slot."""
        return np.arange(self.slot_first[slot], self.slot_first[slot] + self.slot_count[slot])

    def doc_text(self, doc: int) -> str:
        """The text of a document (question, alternative or answer)."""
        entry = self.entries[int(self.doc_slot[doc])]
        if entry is None:
            return ""
        pos = int(self.doc_pos[doc])
        return entry.answer if pos == ANSWER_POS else entry.all_questions[pos]


def _with_vectors(
    dense: FaissVectorIndex,
    glossed: FaissVectorIndex | None,
    word_vectors: WordVectors | None,
    doc_ids: np.ndarray,
    texts: Sequence[str],
    new_words: Sequence[str],
    embed: Embed,
    progress: Progress | None,
) -> tuple[FaissVectorIndex, FaissVectorIndex | None, WordVectors | None]:
    """The dense and gloss indexes with these documents' vectors added, and the word table with the new words'."""
    gloss_texts = [gloss_text(t) for t in texts] if glossed is not None else []
    word_texts = [word_gloss(w) for w in new_words]
    if dense.kind == "hnsw" and (glossed is None or glossed.kind == "hnsw"):
        # HNSW indexes store float16 or 8-bit vectors: each vector goes into its index as soon as it is embedded,
        # so no table of them all (270 MB per index at 100k entries, in float16) exists beside the graphs.
        # Word vectors stay float32 (their similarities are compared with a threshold).
        dense = _embed_into(dense, embed, texts, doc_ids, progress, "embedding FAQ")
        if glossed is not None:
            glossed = _embed_into(glossed, embed, gloss_texts, doc_ids, progress, "embedding FAQ glosses")
        if word_vectors is not None:
            word_vectors = word_vectors.with_vectors(
                new_words, embed_texts(embed, word_texts, progress, "embedding words")
            )
        return dense, glossed, word_vectors
    # English texts gloss to themselves: each distinct text is embedded once, and the indexes read their rows
    # from that table (no per-document copy of it)
    everything = [*texts, *gloss_texts, *word_texts]
    table, rows = embed_unique(embed, everything, progress, "embedding FAQ")
    dense = dense.with_vectors(doc_ids, table, rows[: len(texts)])
    if glossed is not None:
        glossed = glossed.with_vectors(doc_ids, table, rows[len(texts) : 2 * len(texts)])
    if word_vectors is not None:
        word_vectors = word_vectors.with_vectors(new_words, table[rows[len(texts) + len(gloss_texts) :]])
    return dense, glossed, word_vectors


EMBED_BATCH = 32
TRAIN_SAMPLE = 8_192  # distinct texts embedded ahead for an 8-bit index to learn its ranges from
ADD_CHUNK = 16_384  # vectors handed to the index per call


def _embed_into(
    index: FaissVectorIndex,
    embed: Embed,
    texts: Sequence[str],
    doc_ids: np.ndarray,
    progress: Progress | None,
    stage: str,
) -> FaissVectorIndex:
    """`index` with each document's vector (of `texts[i]` for `doc_ids[i]`) added as it is embedded: distinct
    texts once, in batches of similar length, handed over a chunk at a time (documents go in that order)."""
    unique = list(dict.fromkeys(texts))
    position = {text: i for i, text in enumerate(unique)}
    rows = np.asarray([position[t] for t in texts], dtype=np.int64)
    del position
    by_row = np.argsort(rows, kind="stable")  # documents grouped by their text's row
    bounds = np.searchsorted(rows[by_row], np.arange(len(unique) + 1))
    order = sorted(range(len(unique)), key=lambda i: len(unique[i]))
    advance = progress(stage, len(unique)) if progress is not None else None

    def sample() -> np.ndarray:
        return embed_texts(embed, unique[:: max(1, len(unique) // TRAIN_SAMPLE)])

    def chunks() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        ids: list[np.ndarray] = []
        vectors: list[np.ndarray] = []
        pending = 0
        for start in range(0, len(order), EMBED_BATCH):
            batch = np.asarray(order[start : start + EMBED_BATCH])
            out = np.asarray(embed([unique[i] for i in batch]), dtype=np.float32)
            counts = bounds[batch + 1] - bounds[batch]
            ids.append(doc_ids[np.concatenate([by_row[bounds[i] : bounds[i + 1]] for i in batch])])
            vectors.append(np.repeat(out, counts, axis=0))
            pending += int(counts.sum())
            if advance is not None:
                advance(len(batch))
            if pending >= ADD_CHUNK or start + EMBED_BATCH >= len(order):
                yield np.concatenate(ids), np.vstack(vectors)
                ids, vectors, pending = [], [], 0

    return index.with_vector_chunks(chunks(), len(texts), sample)


def embed_texts(
    embed: Embed, texts: Sequence[str], progress: Progress | None = None, stage: str = "embedding"
) -> np.ndarray:
    """Embed many texts: duplicates once, batches of similar length (padding is most of a mixed batch's cost)."""
    table, rows = embed_unique(embed, texts, progress, stage)
    return table[rows] if len(table) else table


def embed_unique(
    embed: Embed,
    texts: Sequence[str],
    progress: Progress | None = None,
    stage: str = "embedding",
    dtype: type[np.floating[Any]] = np.float32,
) -> tuple[np.ndarray, np.ndarray]:
    """The vectors of the distinct texts, and per text its row in them (like `embed_texts`, without expanding);
    the table is stored as `dtype`."""
    unique = list(dict.fromkeys(texts))
    advance = progress(stage, len(unique)) if progress is not None else None
    order = sorted(range(len(unique)), key=lambda i: len(unique[i]))
    vectors: np.ndarray | None = None
    for start in range(0, len(order), EMBED_BATCH):
        batch = order[start : start + EMBED_BATCH]
        out = np.asarray(embed([unique[i] for i in batch]), dtype=np.float32)
        if vectors is None:
            vectors = np.zeros((len(unique), out.shape[1]), dtype=dtype)
        vectors[batch] = out
        if advance is not None:
            advance(len(batch))
    if vectors is None:
        return np.zeros((0, 0), dtype=np.float32), np.zeros(0, dtype=np.int64)
    position = {text: i for i, text in enumerate(unique)}
    return vectors, np.asarray([position[t] for t in texts], dtype=np.int64)
