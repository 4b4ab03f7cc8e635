"""The KnowledgeBase: hybrid search with calibrated scores, follow-up context, and live add/remove."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from assistant.embedding import Embedder
from assistant.errors import InvalidInput
from knowledge_base.analysis import gloss as gloss_text
from knowledge_base.expansion import word_gloss
from knowledge_base.features import (
    NO_VECTORS,
    CandidateFeatures,
    QueryVectors,
    SearchMemo,
    context_feature_names,
    feature_names,
    follow_up_vectors,
    missing_words,
    nearest,
    score_candidates,
)
from knowledge_base.fusion import FusionModel
from knowledge_base.indexes import IndexSet
from knowledge_base.manifest import Manifest
from knowledge_base.models import FaqEntry, Hit, SearchResult

MAX_QUERY_CHARS = 1_000


@dataclass(frozen=True)
class FusionModels:
    """The fusion model for plain queries and the one for follow-ups that carry a context."""

    plain: FusionModel
    context: FusionModel
    borrowed: bool = False  # the shipped prior (knowledge_base.prior), not calibrated on this FAQ


class KnowledgeBase:
    """FAQ search over one snapshot; `add`/`remove` swap in new indexes without disturbing searches."""

    def __init__(self, indexes: IndexSet, models: FusionModels, embedder: Embedder | None, manifest: Manifest) -> None:
        if indexes.config.dense and embedder is not None and embedder.dimension != indexes.dimension:
            raise InvalidInput(
                f"embedder {embedder.name} gives {embedder.dimension}-d vectors; the index holds {indexes.dimension}-d"
            )
        self._indexes = indexes
        self._models = models
        self._embedder = embedder
        self._manifest = manifest
        plain_names = feature_names(indexes.config)
        self._columns = (
            models.plain.columns_in(plain_names),
            models.context.columns_in(context_feature_names(indexes.config)),
        )
        self._write_lock = threading.Lock()
        self._changes = 0

    @property
    def version(self) -> str:
        """The snapshot version this knowledge base was built or loaded as."""
        return self._manifest.version

    @property
    def manifest(self) -> Manifest:
        """The snapshot manifest, with counts reflecting live `add`/`remove` changes."""
        ix = self._indexes
        return replace(self._manifest, entry_count=len(ix.slot_of), doc_count=ix.doc_count)

    @property
    def changes(self) -> int:
        """Number of `add`/`remove` calls applied since the snapshot was loaded."""
        return self._changes

    @property
    def entries(self) -> list[FaqEntry]:
        """All live entries in insertion order."""
        return self._indexes.live_entries

    @property
    def indexes(self) -> IndexSet:
        """The current immutable index set (for snapshot writing and evaluation)."""
        return self._indexes

    @property
    def models(self) -> FusionModels:
        """The fusion models (plain and with context)."""
        return self._models

    @property
    def embedder(self) -> Embedder | None:
        """The embedder used for queries."""
        return self._embedder

    def get(self, faq_id: str) -> FaqEntry | None:
        """The entry with this id, or None."""
        ix = self._indexes
        slot = ix.slot_of.get(faq_id)
        return ix.entries[slot] if slot is not None else None

    def search(
        self,
        query: str,
        *,
        top_k: int = 5,
        context: str | None = None,
        vector: np.ndarray | None = None,
        prepared: QueryVectors | None = None,
    ) -> SearchResult:
        """Best entries for a query; `context` is the previous turn's topic, `vector` a ready query embedding,
        `prepared` all of the query's model outputs (from `query_vectors`: no model call for the query)."""
        return self.search_batch(
            [query],
            top_k=top_k,
            contexts=[context],
            vectors=None if vector is None else np.asarray(vector, dtype=np.float32).reshape(1, -1),
            prepared=None if prepared is None else [prepared],
        )[0]

    def search_batch(
        self,
        queries: Sequence[str],
        *,
        top_k: int = 5,
        contexts: Sequence[str | None] | None = None,
        vectors: np.ndarray | None = None,
        prepared: Sequence[QueryVectors] | None = None,
    ) -> list[SearchResult]:
        """`search` for many queries at once: one embedding call and one dense search for the batch.

        `prepared`, one `query_vectors` result per query, replaces `vectors`: the queries' own model outputs
        (text, gloss, unseen words) are not embedded again.
        """
        ix = self._indexes  # one consistent view even if add/remove swaps the indexes meanwhile
        contexts = list(contexts) if contexts is not None else [None] * len(queries)
        if len(contexts) != len(queries):
            raise InvalidInput("contexts must have one item per query")
        if top_k < 1:
            raise InvalidInput("top_k must be at least 1")
        if prepared is not None and len(prepared) != len(queries):
            raise InvalidInput("prepared must have one item per query")
        texts = [q[:MAX_QUERY_CHARS] for q in queries]
        contexts = [c[:MAX_QUERY_CHARS] if c and c.strip() else None for c in contexts]
        query_vectors, context_vectors = self._vectors(ix, texts, contexts, vectors, prepared)
        dense_ids = nearest(ix.dense, [v.text for v in query_vectors])
        gloss_ids = nearest(ix.gloss, [v.gloss for v in query_vectors])
        # queries embedded together share one table of words new to the FAQ: their gloss neighbours too
        seen: dict[int, dict[str, Mapping[str, float]]] = {}
        memo = SearchMemo()  # a follow-up's plain reading is often the batch's other query
        results: list[SearchResult | None] = [None] * len(texts)
        # follow-ups first: a plain reading of the same text then reuses their lookups (any order: same results)
        for i in sorted(range(len(texts)), key=lambda i: contexts[i] is None):
            text = texts[i]
            if not text.strip() or not ix.slot_of:
                model = self._models.plain if contexts[i] is None else self._models.context
                results[i] = SearchResult(queries[i], (), False, model.threshold)
                continue
            found_features = score_candidates(
                ix,
                text,
                query_vectors[i],
                context=contexts[i],
                context_vectors=context_vectors[i],
                dense_ids=dense_ids[i],
                gloss_ids=gloss_ids[i],
                seen=seen.setdefault(id(query_vectors[i].words), {}),
                memo=memo,
            )
            results[i] = self._rank(ix, queries[i], found_features, contexts[i] is not None, top_k)
        done = [r for r in results if r is not None]
        assert len(done) == len(texts)  # every query got its result, in the order asked
        return done

    def query_vectors(self, texts: Sequence[str]) -> list[QueryVectors]:
        """The vectors `search` uses for standalone queries (for evaluation tools scoring candidates directly)."""
        return self._vectors(self._indexes, texts, [None] * len(texts), None, None)[0]

    def _vectors(
        self,
        ix: IndexSet,
        texts: Sequence[str],
        contexts: Sequence[str | None],
        vectors: np.ndarray | None,
        prepared: Sequence[QueryVectors] | None,
    ) -> tuple[list[QueryVectors], list[tuple[QueryVectors, QueryVectors]]]:
        """Query vectors (prepared, or text given or embedded, and gloss) and, per query with a context, those
        of (context + query, context).

        Everything missing is embedded in one model call. A context that is an FAQ question (the dialogue
        passes the last answered one) reuses its stored vectors, and the context + query vector is the
        normalised sum of the two: no extra model call.
        """
        none = (NO_VECTORS, NO_VECTORS)
        if not ix.config.dense or self._embedder is None:
            return [NO_VECTORS] * len(texts), [none] * len(texts)
        glossed = ix.gloss is not None
        followups = [(i, c) for i, c in enumerate(contexts) if c is not None]
        unknown = [c for _, c in followups if c not in ix.question_docs]
        own = [] if prepared is not None else list(texts)  # texts whose own model outputs are still needed
        pending = [] if vectors is not None else list(own)
        pending += unknown
        if glossed:
            pending += [gloss_text(t) for t in [*own, *unknown]]
        new_words = missing_words(ix, [*own, *(c for _, c in followups)])
        if prepared is not None:
            known = {w for p in prepared for w in p.words}
            new_words = [w for w in new_words if w not in known]
        pending += [word_gloss(w) for w in new_words]
        given: dict[str, np.ndarray] = {}
        if prepared is None and vectors is not None:
            plain = np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1)
            if plain.shape[1] != ix.dimension:
                raise InvalidInput(f"query vectors must have {ix.dimension} dimensions, got {plain.shape[1]}")
            # an English query is its own gloss: its given vector serves both (no second model call)
            given = dict(zip(texts, plain, strict=True))
        unique = [t for t in dict.fromkeys(pending) if t not in given]
        embedded = self._embedder.embed(unique) if unique else np.zeros((0, ix.dimension), np.float32)
        by_text = {**given, **dict(zip(unique, embedded, strict=True))}
        words = {w: by_text[word_gloss(w)] for w in new_words}
        if prepared is not None:
            # a context's unseen words join the query's own (a follow-up's views share one word table)
            query_vectors = [replace(p, words={**p.words, **words}) if words else p for p in prepared]
        else:
            if vectors is None:
                plain = np.vstack([by_text[t] for t in texts]) if texts else np.zeros((0, ix.dimension), np.float32)
            query_vectors = [
                QueryVectors(plain[i], by_text[gloss_text(t)] if glossed else None, words) for i, t in enumerate(texts)
            ]
        context_vectors = [none] * len(texts)
        for i, context in followups:
            context_vectors[i] = follow_up_vectors(query_vectors[i], self._context_vectors(ix, context, by_text))
        return query_vectors, context_vectors

    @staticmethod
    def _context_vectors(ix: IndexSet, context: str, fresh: dict[str, np.ndarray]) -> QueryVectors:
        if context in fresh:
            return QueryVectors(fresh[context], fresh.get(gloss_text(context)))
        text = ix.vectors_for([context], None)
        glossed = ix.vectors_for([context], None, glossed=True)
        return QueryVectors(text[0] if text is not None else None, glossed[0] if glossed is not None else None)

    def _rank(self, ix: IndexSet, query: str, found: CandidateFeatures, with_context: bool, top_k: int) -> SearchResult:
        model = self._models.context if with_context else self._models.plain
        columns = self._columns[1] if with_context else self._columns[0]
        matrix = found.matrix if columns is None else found.matrix[:, columns]
        probs = model.predict(matrix)
        order = np.argsort(-probs, kind="stable")[:top_k]
        hits = []
        for row in order:
            entry = ix.entries[int(found.slots[row])]
            assert entry is not None
            best = int(found.best_doc[row])
            hits.append(
                Hit(
                    id=entry.id,
                    score=float(probs[row]),
                    question=entry.question,
                    category=entry.category,
                    matched=ix.doc_text(best) if best >= 0 else entry.question,
                    features=dict(zip(model.features, matrix[row].tolist(), strict=True)),
                )
            )
        answerable = bool(hits) and hits[0].score >= model.threshold
        return SearchResult(query, tuple(hits), answerable, model.threshold)

    def add(self, entries: Iterable[FaqEntry]) -> None:
        """Add entries (an existing id is replaced) by embedding only the new texts; no rebuild."""
        batch = list(entries)
        with self._write_lock:
            embed = self._embedder.embed if self._embedder is not None else None
            self._indexes = self._indexes.add(batch, embed)
            self._changes += 1

    def remove(self, ids: Iterable[str]) -> int:
        """Remove entries by id; returns how many existed."""
        wanted = list(dict.fromkeys(ids))
        with self._write_lock:
            present = [i for i in wanted if i in self._indexes.slot_of]
            if present:
                self._indexes = self._indexes.remove(present)
                self._changes += 1
        return len(present)
