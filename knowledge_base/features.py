"""Candidate generation and per-candidate features (dense cosine, BM25 coverage per channel, margins)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from assistant.embedding import normalize_rows
from assistant.text import cjk_ratio, normalize
from knowledge_base.analysis import analyze, general_idf
from knowledge_base.expansion import SOFT_CHANNEL, merge_neighbours
from knowledge_base.indexes import ANSWER_POS, IndexConfig, IndexSet
from knowledge_base.sparse_index import Bm25SparseIndex, QueryTerms, SparseHits
from knowledge_base.thesaurus import with_synonyms
from knowledge_base.vector_index import FaissVectorIndex

N_DENSE = 20  # documents taken from the dense index per query
N_SPARSE = 12  # documents taken from each lexical channel per query

_QUERY = ("q_len", "q_cjk", "q_oov", "q_oov_chars", "q_known")
_ENTRY = ("same_lang",)
_DENSE = ("d_cos", "d_gap", "d_top", "d_cos_zh")
_PROTO = ("d_proto", "d_proto_gap")
_GLOSS = ("g_cos", "g_gap", "g_top")
_CHANNEL = ("rel", "qcov", "ucov", "dcov", "f1", "gap")
_LEXICAL = ("lex_max", "lex_gap")
_COVER = ("w_cover",)
_ANSWER_DENSE = ("a_cos",)
_ANSWER_LEX = ("a_qcov",)


def lexical_channels(config: IndexConfig) -> tuple[str, ...]:
    """The BM25 channels, plus the expanded-words channel when glosses are on."""
    soft = (SOFT_CHANNEL,) if config.glossed and "words" in config.channels else ()
    return config.channels + soft


def feature_names(config: IndexConfig) -> tuple[str, ...]:
    """The feature columns produced for a configuration, in order."""
    names = list(_QUERY) + list(_ENTRY)
    if config.dense:
        names.extend(_DENSE)
    if config.dense and config.prototypes:
        names.extend(_PROTO)
    if config.glossed:
        names.extend(_GLOSS)
    for channel in lexical_channels(config):
        names.extend(f"{channel}_{f}" for f in _CHANNEL)
    if config.channels:
        names.extend(_LEXICAL)
    if "words" in config.channels:
        names.extend(_COVER)
    if config.index_answers:
        if config.dense:
            names.extend(_ANSWER_DENSE)
        if config.channels:
            names.extend(_ANSWER_LEX)
    return tuple(names)


@dataclass(frozen=True)
class QueryVectors:
    """Embeddings of one query: of the text itself and of its English gloss (None when not used)."""

    text: np.ndarray | None = None
    gloss: np.ndarray | None = None
    words: Mapping[str, np.ndarray] = field(default_factory=dict)  # query words the FAQ's word table lacks


NO_VECTORS = QueryVectors()


def follow_up_vectors(query: QueryVectors, context: QueryVectors) -> tuple[QueryVectors, QueryVectors]:
    """The vectors of (context + query, context) for a follow-up: sums of the query's and the context's text and
    gloss vectors, no model call; both share the query's word vectors."""
    text = _joint_vector(query.text, context.text)
    glossed = _joint_vector(query.gloss, context.gloss)
    return QueryVectors(text, glossed, query.words), QueryVectors(context.text, context.gloss, query.words)


def _joint_vector(query: np.ndarray | None, context: np.ndarray | None) -> np.ndarray | None:
    """The vector of context + query: the normalised sum of the two (no model call)."""
    if query is None or context is None:
        return None
    joint: np.ndarray = normalize_rows((query + context)[None, :])[0]
    return joint


@dataclass(frozen=True)
class WordCover:
    """The query's content words weighted by general rarity, and the FAQ tokens that stand for each: the word
    itself and its gloss neighbours (a candidate covers a word when it holds any of them)."""

    weights: np.ndarray  # (words,)
    terms: QueryTerms  # every standing token the words index knows
    owner: np.ndarray  # (words, tokens): which tokens stand for which word


@dataclass(frozen=True)
class QueryView:
    """One query text seen by every channel: its vectors, tokens, BM25 scores and dense hits."""

    text: str
    vectors: QueryVectors
    terms: Mapping[str, QueryTerms]
    scores: Mapping[str, SparseHits]
    dense_ids: np.ndarray
    gloss_ids: np.ndarray
    query_features: tuple[float, ...]
    cover: WordCover | None = None

    @property
    def vector(self) -> np.ndarray | None:
        """The embedding of the text itself."""
        return self.vectors.text


def nearest(
    index: FaissVectorIndex | None, vectors: Sequence[np.ndarray | None], exclude: np.ndarray | None = None
) -> list[np.ndarray]:
    """Dense candidate documents of every query in one FAISS call; a query without a vector gets none."""
    out = [np.zeros(0, dtype=np.int64) for _ in vectors]
    rows = [i for i, v in enumerate(vectors) if v is not None]
    present = [v for v in vectors if v is not None]
    if index is None or not index.size or not present:
        return out
    _, found = index.search(np.vstack(present), N_DENSE, exclude=exclude)
    for row, i in enumerate(rows):
        out[i] = found[row]
    return out


def missing_words(ix: IndexSet, texts: Sequence[str]) -> list[str]:
    """Content words of the texts that the FAQ's word table lacks (they need embedding for expansion)."""
    if ix.word_vectors is None:
        return []
    return ix.word_vectors.missing(w for t in texts for w in analyze(t).words)


def _sparse(ix: IndexSet, channel: str) -> Bm25SparseIndex:
    """The index a channel searches: the expanded-words channel searches the words index."""
    return ix.sparse["words" if channel == SOFT_CHANNEL else channel]


def make_view(
    ix: IndexSet,
    text: str,
    vectors: QueryVectors,
    exclude: np.ndarray | None = None,
    dense_ids: np.ndarray | None = None,
    candidates: bool = True,
    gloss_ids: np.ndarray | None = None,
    seen: dict[str, Mapping[str, float]] | None = None,
) -> QueryView:
    """Score a query against every channel; `exclude` hides documents (leave-one-out calibration).

    With `candidates=False` only the tokens and query features are computed (a view used for features).
    `seen`: gloss neighbours of words new to the FAQ found by earlier views with the same `vectors.words`.
    """
    analysis = analyze(text)
    terms = {name: index.encode(analysis.channel(name)) for name, index in ix.sparse.items()}
    words = sorted(set(analysis.words))  # sorted: sums in a fixed order, identical across processes
    # Gloss neighbours of each query word, found once: the soft channel and the coverage feature both use them.
    near = (
        ix.word_vectors.neighbours(words, vectors.words, seen) if ix.word_vectors is not None else [{} for _ in words]
    )
    if ix.faq_synonyms is not None:
        near = with_synonyms(near, [ix.faq_synonyms.of(w) for w in words])
    if ix.word_vectors is not None and "words" in ix.sparse:
        terms[SOFT_CHANNEL] = ix.sparse["words"].encode_weighted(merge_neighbours(near))
    scores: dict[str, SparseHits] = {}
    for name in terms if candidates else ():
        scores[name] = _sparse(ix, name).search(terms[name], N_SPARSE, exclude)
    none = np.zeros(0, dtype=np.int64)
    if dense_ids is None:
        dense_ids = nearest(ix.dense, [vectors.text], exclude)[0] if candidates else none
    if gloss_ids is None:
        gloss_ids = nearest(ix.gloss, [vectors.gloss], exclude)[0] if candidates else none
    norm = normalize(text)
    vocab = ix.sparse.get("words")
    # Unknown words weighted by general-language rarity: an unseen filler (老是) matters little, an
    # unseen name (淘宝, netflix) a lot. Coverage features count known tokens only.
    weights = {w: general_idf(w) for w in words}
    unknown = [w for w in words if vocab is not None and w not in vocab]
    total = sum(weights.values())
    chars = sorted({c for c in analysis.chars if len(c) == 1})
    char_vocab = ix.sparse.get("chars")
    unknown_chars = sum(1 for c in chars if char_vocab is not None and c not in char_vocab)
    query_features = (
        float(np.log1p(sum(ch.isalnum() for ch in norm))),
        cjk_ratio(norm),
        sum(weights[w] for w in unknown) / total if total else 1.0,
        unknown_chars / len(chars) if chars else 0.0,
        float(np.log1p(len(words) - len(unknown))),
    )
    cover = _word_cover(ix, words, near, weights) if vocab is not None else None
    return QueryView(
        text, vectors, terms, scores, dense_ids[dense_ids >= 0], gloss_ids[gloss_ids >= 0], query_features, cover
    )


ViewKey = tuple[object, ...]


@dataclass
class SearchMemo:
    """What the searches of one batch share: query views made once per distinct input, and the lookups of a
    follow-up's plain view over its candidates (the batch's plain reading of the same text slices them)."""

    views: dict[ViewKey, QueryView] = field(default_factory=dict)
    lookups: dict[int, tuple[_Groups, dict[str, tuple[np.ndarray, np.ndarray]]]] = field(default_factory=dict)


def _array_key(values: np.ndarray | None) -> tuple[object, ...] | None:
    """An array's exact contents as a dictionary key."""
    return None if values is None else (values.dtype.str, values.shape, values.tobytes())


def _memo_view(
    memo: SearchMemo | None,
    ix: IndexSet,
    text: str,
    vectors: QueryVectors,
    exclude: np.ndarray | None,
    dense_ids: np.ndarray | None,
    candidates: bool,
    gloss_ids: np.ndarray | None,
    seen: dict[str, Mapping[str, float]] | None,
) -> QueryView:
    """`make_view`, made once per distinct input in `views` (a view is a function of its inputs; `seen` only
    caches gloss neighbours, which depend on the word vectors, keyed by identity)."""
    if memo is None or exclude is not None:
        return make_view(ix, text, vectors, exclude, dense_ids, candidates=candidates, gloss_ids=gloss_ids, seen=seen)
    key = (
        text,
        candidates,
        _array_key(vectors.text),
        _array_key(vectors.gloss),
        id(vectors.words),
        _array_key(dense_ids),
        _array_key(gloss_ids),
    )
    view = memo.views.get(key)
    if view is None:
        view = memo.views[key] = make_view(
            ix, text, vectors, exclude, dense_ids, candidates=candidates, gloss_ids=gloss_ids, seen=seen
        )
    return view


def _word_cover(
    ix: IndexSet, words: Sequence[str], near: Sequence[Mapping[str, float]], weights: Mapping[str, float]
) -> WordCover:
    """Each query word with the FAQ tokens standing for it (itself, its gloss neighbours `near`), weighted by rarity."""
    index = ix.sparse["words"]
    standing = [[w, *n] for w, n in zip(words, near, strict=True)]
    known = [t for t in dict.fromkeys(t for group in standing for t in group) if t in index]
    column = {t: i for i, t in enumerate(known)}
    owner = np.zeros((len(words), len(known)))
    for row, group in enumerate(standing):
        for token in group:
            if token in column:
                owner[row, column[token]] = 1.0
    return WordCover(np.asarray([weights[w] for w in words]), index.encode(known), owner)


def candidate_slots(ix: IndexSet, views: Sequence[QueryView]) -> np.ndarray:
    """Entry slots found by any channel of any view: dense top-N plus each lexical channel's top-N."""
    docs: list[np.ndarray] = []
    for view in views:
        docs.append(view.dense_ids)
        docs.append(view.gloss_ids)
        docs.extend(hits.docs for hits in view.scores.values())
    if not docs:
        return np.zeros(0, dtype=np.int64)
    slots = ix.doc_slot[np.concatenate(docs).astype(np.int64)]
    return np.unique(slots[slots >= 0])


@dataclass(frozen=True)
class CandidateFeatures:
    """Feature rows for candidate slots, and the document that matched each best (for display)."""

    slots: np.ndarray
    matrix: np.ndarray
    best_doc: np.ndarray
    prior: np.ndarray  # summed dense + lexical evidence of the best document: ranks negatives by hardness


class _Groups:
    """The documents of candidate slots, contiguous per candidate: per-candidate max and any are reductions."""

    def __init__(self, ix: IndexSet, slots: np.ndarray, exclude: np.ndarray | None) -> None:
        counts = ix.slot_count[slots]  # every entry has at least its question, so no group is empty
        self.slots = slots
        self.n = len(slots)
        self.counts = counts
        self.starts = np.cumsum(counts) - counts
        self.owner = np.repeat(np.arange(self.n), counts)
        self.docs = np.repeat(ix.slot_first[slots], counts) + (
            np.arange(int(counts.sum())) - np.repeat(self.starts, counts)
        )
        # excluded documents (leave-one-out calibration) are masked, not dropped, to keep groups intact
        usable = ~np.isin(self.docs, exclude) if exclude is not None and len(exclude) else np.ones(len(self.docs), bool)
        self.is_answer = ix.doc_pos[self.docs] == ANSWER_POS
        self.question = usable & ~self.is_answer
        self.answer = usable & self.is_answer
        self._doc_idf: dict[int, np.ndarray] = {}
        self._prototype_norms: dict[int, np.ndarray] = {}

    def doc_idf(self, index: Bm25SparseIndex) -> np.ndarray:
        """`index.doc_idf` of the documents, found once for every view over these candidates."""
        found = self._doc_idf.get(id(index))
        if found is None:
            found = self._doc_idf[id(index)] = index.doc_idf(self.docs)
        return found

    def prototype_norms(self, index: FaissVectorIndex) -> np.ndarray:
        """Per candidate, the norm of the sum of its usable question documents' vectors in `index` (0 when none
        is usable), found once for every view over these candidates."""
        found = self._prototype_norms.get(id(index))
        if found is None:
            found = np.zeros(self.n)
            if self.n:
                rows = np.zeros((len(self.docs), index.dimension))  # answers and hidden documents stay 0
                rows[self.question] = index.vectors(self.docs[self.question])
                found = np.linalg.norm(np.add.reduceat(rows, self.starts, axis=0), axis=1)
            self._prototype_norms[id(index)] = found
        return found

    def sum_questions(self, values: np.ndarray) -> np.ndarray:
        """Per candidate, the sum of `values` over its usable question documents."""
        if not self.n:
            return np.zeros(0)
        out: np.ndarray = np.add.reduceat(np.where(self.question, values, 0.0), self.starts)
        return out

    def columns_in(self, wider: _Groups) -> np.ndarray | None:
        """Where each of these documents sits among `wider`'s (None unless every candidate is one of its)."""
        at = np.searchsorted(wider.slots, self.slots)
        if len(at) and (int(at.max()) >= wider.n or not np.array_equal(wider.slots[at], self.slots)):
            return None
        out: np.ndarray = np.repeat(wider.starts[at], self.counts) + (
            np.arange(len(self.docs)) - np.repeat(self.starts, self.counts)
        )
        return out

    def max_rows(self, rows: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Per row of `rows` (values x documents), each candidate's maximum over the documents `mask` selects;
        -inf where it selects none. One pass for every feature: small numpy calls cost more than their work."""
        if not self.n:
            return np.zeros((len(rows), 0))
        out: np.ndarray = np.maximum.reduceat(np.where(mask, rows, -np.inf), self.starts, axis=1)
        return out

    def any_question(self, present: np.ndarray) -> np.ndarray:
        """(tokens x candidates): whether any usable question document of the candidate holds the token."""
        if not self.n:
            return np.zeros((len(present), 0), dtype=bool)
        out: np.ndarray = np.logical_or.reduceat(present & self.question, self.starts, axis=1)
        return out

    def argmax_doc(self, values: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Per candidate, the masked document with the highest value (-1 when none is usable)."""
        out = np.full(self.n, -1, dtype=np.int64)
        if not self.n:
            return out
        masked = np.where(mask, values, -np.inf)
        best = np.repeat(np.maximum.reduceat(masked, self.starts), self.counts)
        hits = np.flatnonzero((masked == best) & mask)
        owners, first = np.unique(self.owner[hits], return_index=True)
        out[owners] = self.docs[hits[first]]
        return out


def _gaps(rows: np.ndarray) -> np.ndarray:
    """Per row, each candidate's value minus the best value among the other candidates."""
    if rows.shape[1] < 2:
        return rows.copy()
    top = np.argmax(rows, axis=1)
    best_two = -np.partition(-rows, 1, axis=1)[:, :2]  # the largest and the second largest (ties kept)
    other = np.repeat(best_two[:, :1], rows.shape[1], axis=1)
    other[np.arange(len(rows)), top] = best_two[:, 1]
    out: np.ndarray = rows - other
    return out


_COVER_KEY = "\0cover"  # the word-cover tokens' lookup, beside the channels' (no channel has this name)


def _lookups(
    ix: IndexSet, views: Sequence[QueryView], channels: Sequence[str], g: _Groups, answer_channel: str
) -> list[dict[str, tuple[np.ndarray, np.ndarray]]]:
    """Per view, `match` of each channel's query tokens (and of the word-cover tokens) over the candidates'
    documents; token sets searched in the same index (words, the soft channel, the cover, and those of every view
    over the same candidates) share one lookup: a (token, document) pair's values never depend on the others.

    Only the answer channel's features read answer documents: the other indexes look up question documents
    alone (a quarter of the pairs at 100k entries) and leave answers absent, which no feature reads."""
    wanted = [(v, name, _sparse(ix, name), view.terms[name]) for v, view in enumerate(views) for name in channels]
    for v, view in enumerate(views):
        if view.cover is not None and "words" in ix.sparse:
            wanted.append((v, _COVER_KEY, ix.sparse["words"], view.cover.terms))
    answers = _sparse(ix, answer_channel) if answer_channel else None
    questions = np.flatnonzero(~g.is_answer)
    partial = len(questions) < len(g.docs)
    out: list[dict[str, tuple[np.ndarray, np.ndarray]]] = [{} for _ in views]
    for index in dict.fromkeys(index for _, _, index, _ in wanted):  # each index once, in channel order
        mine = [(v, key, terms) for v, key, of, terms in wanted if of is index]
        many = [terms for _, _, terms in mine]
        if index is answers or not partial:
            found = index.match_many(many, g.docs)
        else:
            found = [_widen(*matched, questions, len(g.docs)) for matched in index.match_many(many, g.docs[questions])]
        for (v, key, _), matched in zip(mine, found, strict=True):
            out[v][key] = matched
    return out


def _widen(present: np.ndarray, bm25: np.ndarray, columns: np.ndarray, n_docs: int) -> tuple[np.ndarray, np.ndarray]:
    """A lookup over some documents as one over `n_docs`: the others hold no token and score 0."""
    wide = np.zeros((len(present), n_docs), dtype=bool)
    wide[:, columns] = present
    scores = np.zeros(n_docs, dtype=bm25.dtype)
    scores[columns] = bm25
    return wide, scores


def _covered_share(cover: WordCover | None, g: _Groups, present: np.ndarray | None) -> np.ndarray:
    """Per candidate, the rarity-weighted share of the query's words it covers, unknown words included: a
    question about a thing the FAQ never names (netflix, 淘宝) leaves that word uncovered by every entry.
    `present`: which cover tokens each candidate document holds."""
    total = float(cover.weights.sum()) if cover is not None else 0.0
    if cover is None or present is None or total <= 0 or not g.n:
        return np.zeros(g.n)
    held = g.any_question(present)  # tokens x candidates
    covered = (cover.owner @ held) > 0  # words x candidates
    out: np.ndarray = cover.weights @ covered / total
    return out


def candidate_features(
    ix: IndexSet, view: QueryView, slots: np.ndarray, exclude: np.ndarray | None = None
) -> CandidateFeatures:
    """One feature row per candidate slot (columns as `feature_names(ix.config)`).

    Per-document values are gathered as rows of one matrix and reduced to per-candidate maxima in one pass
    (the values are the same as one reduction per feature; each feature's arithmetic keeps its dtype).
    """
    g = _Groups(ix, slots, exclude)
    lookups = _lookups(ix, [view], lexical_channels(ix.config), g, _answer_channel(ix.config))[0]
    return _features(ix, view, g, lookups, _similarities(ix, [view], g)[0])


def _answer_channel(config: IndexConfig) -> str:
    """The channel whose features read answer documents too."""
    return "words" if "words" in config.channels else next(iter(config.channels), "")


def _similarities(ix: IndexSet, views: Sequence[QueryView], g: _Groups) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per view, the cosines of its text and of its gloss with the candidates' documents (zeros without them);
    the documents' stored vectors are gathered once per index for all the views."""
    out = [(np.zeros(len(g.docs)), np.zeros(len(g.docs))) for _ in views]
    config = ix.config
    for side, index, on in ((0, ix.dense, config.dense), (1, ix.gloss, config.glossed)):
        wanted = [(v, view.vectors.text if side == 0 else view.vectors.gloss) for v, view in enumerate(views)]
        present = [(v, vector) for v, vector in wanted if vector is not None]
        if not on or index is None or not present or not len(g.docs):
            continue
        found = index.similarities_many(g.docs, [vector for _, vector in present])
        for (v, _), sims in zip(present, found, strict=True):
            pair = out[v]
            out[v] = (sims, pair[1]) if side == 0 else (pair[0], sims)
    return out


def _features(
    ix: IndexSet,
    view: QueryView,
    g: _Groups,
    lookups: Mapping[str, tuple[np.ndarray, np.ndarray]],
    cosines: tuple[np.ndarray, np.ndarray],
) -> CandidateFeatures:
    """`candidate_features` over ready candidate groups, lookups and cosines (views over the same candidates
    share them)."""
    cos, gcos = cosines
    slots, n, docs = g.slots, g.n, g.docs
    config = ix.config
    channels = lexical_channels(config)
    answer_channel = _answer_channel(config)
    # users want answers in their language: an English query prefers the English entry on the same topic
    query_zh = view.query_features[1] >= 0.5
    same_lang = (ix.slot_is_zh[slots] == query_zh).astype(np.float64)
    match = np.zeros(len(docs))
    rows: list[np.ndarray] = []  # per-document values whose maximum over question documents is a feature
    if config.dense:
        rows.append(cos)
        match += cos
    if config.glossed:
        rows.append(gcos)
        match += gcos
    ucovs: list[np.ndarray] = []
    answer_qcov: np.ndarray = np.zeros(len(docs))
    for name in channels:
        index, terms = _sparse(ix, name), view.terms[name]
        present, bm25 = lookups[name]
        matched = terms.idf @ present
        idf_sum = terms.idf_sum
        has_terms = idf_sum > 0
        qcov = matched / idf_sum if has_terms else np.zeros(len(docs))
        # coverage by the entry as a whole: the query's words may be spread over its question and alternatives
        ucovs.append(terms.idf @ g.any_question(present) / idf_sum if has_terms else np.zeros(n))
        doc_idf = g.doc_idf(index)
        dcov = np.divide(matched, doc_idf, out=np.zeros(len(docs)), where=doc_idf > 0)
        f1 = np.divide(2 * qcov * dcov, qcov + dcov, out=np.zeros(len(docs)), where=(qcov + dcov) > 0)
        rows += [bm25, qcov, dcov, f1]
        match += f1
        if name == answer_channel:
            answer_qcov = qcov
    rows.append(match)
    best = g.max_rows(np.vstack(rows) if rows else np.zeros((0, len(docs))), g.question)
    prior = best[-1]  # summed evidence of the best document: -inf when none is usable
    best = np.where(np.isfinite(best[:-1]), best[:-1], 0.0)
    columns: list[np.ndarray] = [np.full(n, value) for value in view.query_features]
    columns.append(same_lang)
    gapped: list[np.ndarray] = []  # features followed by their gap to the best other candidate
    gap_at: list[int] = []  # where those gap columns go (filled below in one vectorised pass)

    def with_gap(values: np.ndarray) -> None:
        columns.append(values)
        gapped.append(values)
        gap_at.append(len(columns))
        columns.append(values)

    row = 0
    if config.dense:
        d_cos = best[row]
        row += 1
        with_gap(d_cos)
        columns += [_top(d_cos), d_cos.astype(cos.dtype) * view.query_features[1]]
    if config.dense and config.prototypes:
        with_gap(_prototype_cosines(ix, g, cos))
    if config.glossed:
        g_cos = best[row]
        row += 1
        with_gap(g_cos)
        columns.append(_top(g_cos))
    lex_f1 = np.zeros((max(len(channels), 1), n))
    for c, ucov in enumerate(ucovs):
        rel, qcov_max, dcov_max, f1_max = best[row : row + 4]
        row += 4
        rel = rel / rel.max() if n and rel.max() > 0 else rel
        lex_f1[c] = f1_max
        columns += [rel, qcov_max, ucov, dcov_max]
        with_gap(f1_max)
    if config.channels:
        lex_max = lex_f1.max(axis=0)
        with_gap(lex_max)
    if "words" in config.channels:
        cover_present = lookups[_COVER_KEY][0] if _COVER_KEY in lookups else None
        columns.append(_covered_share(view.cover, g, cover_present))
    if config.index_answers and (config.dense or config.channels):
        answer_rows = ([cos] if config.dense else []) + ([answer_qcov] if config.channels else [])
        answer_best = g.max_rows(np.vstack(answer_rows), g.answer)
        columns += list(np.where(np.isfinite(answer_best), answer_best, 0.0))
    if gapped:
        for at, gap in zip(gap_at, _gaps(np.vstack(gapped)), strict=True):
            columns[at] = gap
    matrix = np.column_stack(columns).astype(np.float32) if n else np.zeros((0, len(columns)), np.float32)
    best_doc = g.argmax_doc(match, g.question)  # shown as `matched`: the question-side text with most evidence
    return CandidateFeatures(slots, matrix, best_doc, prior)


def _prototype_cosines(ix: IndexSet, g: _Groups, cos: np.ndarray) -> np.ndarray:
    """Per candidate, the query's cosine with its prototype: the normalised sum of its usable question
    documents' vectors (question and alternatives), from the documents' cosines `cos` (q . sum v = sum q . v).

    The best single wording decides `d_cos`; a paraphrase near none of the wordings can still be nearest to
    what they share (few-shot intent data: the prototype ranks real users' queries better than the best
    wording, README)."""
    norms = g.prototype_norms(ix.dense) if ix.dense is not None else np.zeros(g.n)
    out: np.ndarray = np.divide(g.sum_questions(cos), norms, out=np.zeros(g.n), where=norms > 0)
    return out


def _top(values: np.ndarray) -> np.ndarray:
    """1 for the candidate with the highest value (the first on ties), 0 for the others."""
    out = np.zeros(len(values))
    if len(values):
        out[int(np.argmax(values))] = 1.0
    return out


CONTEXT_VIEWS = 3  # a follow-up row: the query's features, those of context + query, those of the context


def context_feature_names(config: IndexConfig) -> tuple[str, ...]:
    """Columns with a context: the query's, `x_` of context + query, `c_` of the context alone."""
    names = feature_names(config)
    return names + tuple(f"x_{name}" for name in names) + tuple(f"c_{name}" for name in names)


def score_candidates(
    ix: IndexSet,
    text: str,
    vectors: QueryVectors,
    *,
    context: str | None = None,
    context_vectors: tuple[QueryVectors, QueryVectors] = (NO_VECTORS, NO_VECTORS),
    exclude: np.ndarray | None = None,
    dense_ids: np.ndarray | None = None,
    gloss_ids: np.ndarray | None = None,
    seen: dict[str, Mapping[str, float]] | None = None,
    memo: SearchMemo | None = None,
) -> CandidateFeatures:
    """Candidates and features of a query; with a context (the previous topic) also of `context + query`
    and of the context alone, so the model can tell a follow-up (那会员呢) from a fresh question.

    `context_vectors` are the embeddings of `context + " " + text` and of `context`. `seen`: gloss neighbours
    of words new to the FAQ already found with the same `vectors.words` (queries of one batch share them).
    `memo`: what the batch's other searches made (a follow-up's plain reading is also searched alone).
    """
    seen = {} if seen is None else seen  # the views share the query's word vectors (follow_up_vectors)
    plain = _memo_view(memo, ix, text, vectors, exclude, dense_ids, True, gloss_ids, seen)
    if context is None:
        g = _Groups(ix, candidate_slots(ix, [plain]), exclude)
        wider = memo.lookups.get(id(plain)) if memo is not None and exclude is None else None
        columns = g.columns_in(wider[0]) if wider is not None else None
        if wider is None or columns is None:
            lookups = _lookups(ix, [plain], lexical_channels(ix.config), g, _answer_channel(ix.config))[0]
        else:
            # a (token, document) pair's lookup is the same whatever other documents were looked up with it
            lookups = {key: (present[:, columns], bm25[columns]) for key, (present, bm25) in wider[1].items()}
        return _features(ix, plain, g, lookups, _similarities(ix, [plain], g)[0])
    shared = context_vectors[0].words is vectors.words and context_vectors[1].words is vectors.words
    known = seen if shared else None
    combined = _memo_view(memo, ix, f"{context} {text}", context_vectors[0], exclude, None, True, None, known)
    alone_view = _memo_view(memo, ix, context, context_vectors[1], exclude, None, False, None, known)
    # the three views score the same candidates: one set of groups, one lookup per index for all their tokens
    g = _Groups(ix, candidate_slots(ix, [plain, combined]), exclude)
    three = [plain, combined, alone_view]
    looked = _lookups(ix, three, lexical_channels(ix.config), g, _answer_channel(ix.config))
    cosines = _similarities(ix, three, g)
    own, joint, alone = (
        _features(ix, view, g, found, pair) for view, found, pair in zip(three, looked, cosines, strict=True)
    )
    if memo is not None and exclude is None:
        memo.lookups[id(plain)] = (g, looked[0])  # plain is kept alive by memo.views
    slots = g.slots
    return CandidateFeatures(
        slots, np.hstack([own.matrix, joint.matrix, alone.matrix]), own.best_doc, np.maximum(own.prior, joint.prior)
    )
