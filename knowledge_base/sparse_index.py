"""Sparse retrieval: a BM25 (Lucene variant) inverted index over token lists, with coverage statistics."""

from __future__ import annotations

import json
from array import array
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

K1 = 1.5
B = 0.75
# Candidate generation reads only each token's highest-impact postings (impact-ordered truncation):
# a document in a query's top 20 is almost always among the top postings of one of its rarer tokens,
# and common tokens' full postings would be most of the work at 100k entries. Features stay exact.
IMPACT_POSTINGS = 512
POSTING_SPAN = 1 << 20  # postings weighed and ranked per step when an index is built
# `match` searches columns up to this long in one joined binary search (copying them costs less than a
# numpy call per token); longer ones, each on its own. Results are the same either way.
SHORT_POSTINGS = 2048
# Posting weights are kept when an index has at most this many postings (16 MB; a 10k-entry channel has about
# 2M): reading them is faster than computing them. Above it they are computed when read (35M postings, 140 MB
# at 100k entries); both give the same float32 weights.
STORED_WEIGHTS_MAX = 4_000_000
# A term counted more often in one document scores as this many (BM25 saturates long before: tf / (tf + k1)).
MAX_TF = 65_535


def _bm25(weights: np.ndarray) -> np.ndarray:
    """Per document, the sum of its tokens' weights (tokens x docs): float64 rows added in token order, the same
    sums as adding one token at a time."""
    out: np.ndarray = np.add.reduce(weights.astype(np.float64), axis=0)
    return out


def _token_spans(indptr: np.ndarray, span: int) -> list[tuple[int, int]]:
    """Consecutive token ranges [first, last) of about `span` postings each (a token is never split)."""
    n_tokens = len(indptr) - 1
    out: list[tuple[int, int]] = []
    first = 0
    while first < n_tokens:
        last = int(np.searchsorted(indptr, indptr[first] + span, side="right")) - 1
        last = min(max(last, first + 1), n_tokens)
        out.append((first, last))
        first = last
    return out


@dataclass(frozen=True)
class QueryTerms:
    """A query's distinct known token ids, their IDFs, and how many distinct tokens are unknown."""

    ids: np.ndarray
    idf: np.ndarray
    unknown: int

    @property
    def idf_sum(self) -> float:
        """Total IDF of the known tokens (the most a document can match)."""
        return float(self.idf.sum())


@dataclass(frozen=True)
class SparseHits:
    """A query's best documents in one channel and their BM25 scores, best first."""

    docs: np.ndarray
    scores: np.ndarray


class SparseIndex(Protocol):
    """A lexical index over documents identified by integer ids."""

    def encode(self, tokens: Sequence[str]) -> QueryTerms: ...

    def search(self, terms: QueryTerms, n: int, exclude: np.ndarray | None = None) -> SparseHits: ...

    def match(self, terms: QueryTerms, docs: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...

    def matched_idf(self, terms: QueryTerms, docs: np.ndarray) -> np.ndarray: ...

    def doc_idf(self, docs: np.ndarray) -> np.ndarray: ...


class Bm25SparseIndex:
    """BM25 with Lucene's IDF and length normalisation (the formula of bm25s' default `lucene` method).

    Postings are stored per token (CSC layout) so a query touches only its own tokens' postings; term
    frequencies are kept so documents can be added or removed without re-tokenising the corpus.
    """

    def __init__(
        self,
        vocab: dict[str, int],
        indptr: np.ndarray,
        post_doc: np.ndarray,
        post_tf: np.ndarray,
        doc_len: np.ndarray,
        present: np.ndarray,
    ) -> None:
        self._vocab = vocab
        self._indptr = indptr.astype(np.int64, copy=False)
        self._post_doc = post_doc.astype(np.int32, copy=False)
        # term counts are small integers: two bytes each instead of four (35M postings at 100k entries)
        self._post_tf = np.minimum(post_tf, MAX_TF).astype(np.uint16, copy=False)
        self._doc_len = doc_len.astype(np.float32, copy=False)
        self._present = present.astype(bool, copy=False)
        n_present = max(int(self._present.sum()), 1)
        avg_len = float(self._doc_len[self._present].mean()) if self._present.any() else 1.0
        # BM25 length normalisation per document (float32, 4 bytes a document): weights are computed when read
        self._norm = (K1 * (1.0 - B + B * self._doc_len / max(avg_len, 1e-9))).astype(np.float32)
        df = np.diff(self._indptr).astype(np.float64)
        self._idf = np.log1p((n_present - df + 0.5) / (df + 0.5)).astype(np.float32)
        doc_idf = np.zeros(len(self._doc_len))
        stored = len(self._post_doc) <= STORED_WEIGHTS_MAX
        self._weights = np.empty(len(self._post_doc), dtype=np.float32) if stored else None
        impact: list[np.ndarray] = []
        impact_weight: list[np.ndarray] = []
        # Postings are processed a span of tokens at a time: the per-posting temporaries of a whole channel
        # (the char n-grams of 350k documents are 17M postings) peaked at about 100 bytes each.
        # Weights are kept only up to STORED_WEIGHTS_MAX postings.
        for first, last in _token_spans(self._indptr, POSTING_SPAN):
            lo, hi = int(self._indptr[first]), int(self._indptr[last])
            counts = np.diff(self._indptr[first : last + 1])
            token_of_post = np.repeat(np.arange(first, last, dtype=np.int32), counts)
            docs = self._post_doc[lo:hi]
            weights = self._weight(self._idf[token_of_post], self._post_tf[lo:hi], docs)
            if self._weights is not None:
                self._weights[lo:hi] = weights
            doc_idf += np.bincount(docs, weights=self._idf[token_of_post], minlength=len(self._doc_len))
            # each token's postings by descending weight, cut to IMPACT_POSTINGS
            order = np.lexsort((-weights, token_of_post))
            rank = np.arange(hi - lo) - np.repeat(self._indptr[first:last] - lo, counts)
            kept = order[rank < IMPACT_POSTINGS]
            impact.append(lo + kept)
            impact_weight.append(weights[kept])
        self._doc_idf = doc_idf.astype(np.float32)
        kept = np.concatenate(impact) if impact else np.zeros(0, dtype=np.int64)
        self._impact_doc = self._post_doc[kept]
        self._impact_weight = np.concatenate(impact_weight) if impact else np.zeros(0, dtype=np.float32)
        counts = np.minimum(np.diff(self._indptr), IMPACT_POSTINGS)
        self._impact_ptr = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(counts, out=self._impact_ptr[1:])

    def _weight(self, idf: np.ndarray, tf: np.ndarray, docs: np.ndarray) -> np.ndarray:
        """BM25 weights of postings (float32) from their token's IDF, term count and document; any shapes
        that broadcast: the same float32 steps for every posting, so a weight is the same wherever computed."""
        tf32 = tf.astype(np.float32)
        out: np.ndarray = idf * tf32 / (tf32 + self._norm[docs])
        return out

    @classmethod
    def build(cls, docs: Sequence[Sequence[str]], doc_ids: Sequence[int] | None = None) -> Bm25SparseIndex:
        """Index token lists; `doc_ids` default to 0..n-1."""
        empty = cls(
            {},
            np.zeros(1, np.int64),
            np.zeros(0, np.int32),
            np.zeros(0, np.float32),
            np.zeros(0),
            np.zeros(0),
        )
        ids = list(range(len(docs))) if doc_ids is None else list(doc_ids)
        return empty.with_docs(docs, ids)

    @property
    def doc_count(self) -> int:
        """Number of documents currently indexed."""
        return int(self._present.sum())

    @property
    def vocab_size(self) -> int:
        """Number of distinct tokens."""
        return len(self._vocab)

    def __contains__(self, token: str) -> bool:
        return token in self._vocab

    def encode_weighted(self, weights: Mapping[str, float]) -> QueryTerms:
        """Known tokens with their IDF scaled by a weight in (0, 1] (expanded query terms count partly)."""
        known = [(self._vocab[t], w) for t, w in weights.items() if t in self._vocab]
        ids = np.asarray([i for i, _ in known], dtype=np.int64)
        scale = np.asarray([w for _, w in known], dtype=np.float32)
        return QueryTerms(ids, self._idf[ids] * scale, len(weights) - len(known))

    def encode(self, tokens: Sequence[str]) -> QueryTerms:
        """Distinct known token ids of a query (repeats in a short query carry no extra meaning)."""
        distinct = dict.fromkeys(tokens)
        ids = [self._vocab[t] for t in distinct if t in self._vocab]
        id_array = np.asarray(ids, dtype=np.int64)
        return QueryTerms(id_array, self._idf[id_array], len(distinct) - len(ids))

    def scores(self, terms: QueryTerms) -> np.ndarray:
        """BM25 score of every document id (zero where nothing matches)."""
        n_docs = len(self._doc_len)
        if not len(terms.ids):
            return np.zeros(n_docs, dtype=np.float64)
        starts, ends = self._indptr[terms.ids], self._indptr[terms.ids + 1]
        spans = list(zip(starts.tolist(), ends.tolist(), strict=True))
        docs = np.concatenate([self._post_doc[s:e] for s, e in spans])
        idf = np.repeat(self._idf[terms.ids], ends - starts)
        weights = self._weight(idf, np.concatenate([self._post_tf[s:e] for s, e in spans]), docs)
        return np.bincount(docs, weights=weights, minlength=n_docs)

    def search(self, terms: QueryTerms, n: int, exclude: np.ndarray | None = None) -> SparseHits:
        """The `n` best documents by BM25 over each query token's highest-impact postings."""
        empty = SparseHits(np.zeros(0, dtype=np.int64), np.zeros(0))
        if not len(terms.ids):
            return empty
        spans = list(zip(self._impact_ptr[terms.ids].tolist(), self._impact_ptr[terms.ids + 1].tolist(), strict=True))
        docs = np.concatenate([self._impact_doc[s:e] for s, e in spans])
        weights = np.concatenate([self._impact_weight[s:e] for s, e in spans])
        # a dense accumulator costs one zero-fill of the id space, cheaper than sorting the postings
        scores = np.bincount(docs, weights=weights, minlength=len(self._doc_len))
        if exclude is not None and len(exclude):
            scores[exclude[exclude < len(scores)]] = 0.0
        values = scores[docs]
        pool = min(len(docs), n * len(terms.ids))  # a document repeats at most once per query token
        if pool < len(docs):
            picked = np.argpartition(-values, pool - 1)[:pool]
            docs, values = docs[picked], values[picked]
        unique, first = np.unique(docs, return_index=True)
        values = values[first]
        keep = values > 0
        unique, values = unique[keep], values[keep]
        order = np.argsort(-values, kind="stable")[:n]
        return SparseHits(unique[order].astype(np.int64), values[order]) if len(order) else empty

    def match(self, terms: QueryTerms, docs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For the given documents: which query tokens each holds (tokens x docs) and its exact BM25 score."""
        present, weights = self.match_weights(terms.ids, docs)
        return present, _bm25(weights)

    def match_many(self, many: Sequence[QueryTerms], docs: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """`match` for several token sets over the same documents, each token looked up once."""
        if not many:
            return []
        union = np.unique(np.concatenate([terms.ids for terms in many]))
        present, weights = self.match_weights(union, docs)
        out = []
        for terms in many:
            rows = np.searchsorted(union, terms.ids)
            out.append((present[rows], _bm25(weights[rows])))
        return out

    def match_weights(self, ids: np.ndarray, docs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For the given documents: which of the token ids each holds, and the BM25 weight (float32, 0 where
        absent), both tokens x docs."""
        docs = np.asarray(docs)
        n_tokens = len(ids)
        if not n_tokens or not len(docs) or not len(self._post_doc):
            return np.zeros((n_tokens, len(docs)), dtype=bool), np.zeros((n_tokens, len(docs)), np.float32)
        starts, ends = self._indptr[ids], self._indptr[ids + 1]
        # Only the binary search runs per token (its column is a slice); clipping, lookups and the BM25 sum
        # run once over the tokens x docs matrix: per-token numpy calls cost more than their work here.
        pos = np.empty((n_tokens, len(docs)), dtype=np.int64)
        lengths = ends - starts
        short = np.flatnonzero(lengths <= SHORT_POSTINGS)
        if len(short):
            # short columns are searched together: shifted apart by the id space they are one sorted array
            spans = list(zip(starts[short].tolist(), ends[short].tolist(), strict=True))
            joined = np.concatenate([self._post_doc[s:e] for s, e in spans]).astype(np.int64)
            stride = max(len(self._doc_len), int(docs.max()) + 1) + 1
            shift = np.arange(len(short), dtype=np.int64) * stride
            joined += np.repeat(shift, lengths[short])
            offset = np.cumsum(lengths[short]) - lengths[short]
            found = np.searchsorted(joined, shift[:, None] + docs[None, :])
            pos[short] = found + (starts[short] - offset)[:, None]
        # keys of the column's own dtype: int64 keys would make numpy copy the whole column to int64 per call
        keys = docs.astype(self._post_doc.dtype)
        for row in np.flatnonzero(lengths > SHORT_POSTINGS).tolist():
            start = int(starts[row])
            pos[row] = self._post_doc[start : int(ends[row])].searchsorted(keys)
            pos[row] += start
        last = np.maximum(ends - 1, starts)[:, None]
        np.minimum(pos, np.minimum(last, len(self._post_doc) - 1), out=pos)
        present = (self._post_doc[pos] == docs) & (ends > starts)[:, None]
        if self._weights is not None:
            return present, np.where(present, self._weights[pos], np.float32(0.0))
        # weights only where a token is present (most pairs hold nothing); those documents are this channel's own
        rows, columns = np.nonzero(present)
        weights = np.zeros(present.shape, dtype=np.float32)
        weights[rows, columns] = self._weight(self._idf[ids[rows]], self._post_tf[pos[rows, columns]], docs[columns])
        return present, weights

    def matched_idf(self, terms: QueryTerms, docs: np.ndarray) -> np.ndarray:
        """For each given document, the total IDF of the query tokens it contains."""
        out: np.ndarray = terms.idf @ self.match(terms, docs)[0]
        return out

    def doc_idf(self, docs: np.ndarray) -> np.ndarray:
        """Total IDF of each document's distinct tokens (the most a query can match of it)."""
        padded = np.asarray(docs)
        inside = padded < len(self._doc_idf)
        out = np.zeros(len(padded), dtype=np.float32)
        out[inside] = self._doc_idf[padded[inside]]
        return out

    def with_docs(self, docs: Iterable[Sequence[str]], doc_ids: Sequence[int]) -> Bm25SparseIndex:
        """A new index that also holds these documents (ids must be new)."""
        vocab = dict(self._vocab)
        # compact typed buffers: a Python int per posting would cost ~10x the memory at 100k entries
        new_tok, new_doc, new_tf = array("i"), array("i"), array("H")
        lengths = array("f")
        for doc_id, tokens in zip(doc_ids, docs, strict=True):
            for token, count in Counter(tokens).items():
                new_tok.append(vocab.setdefault(token, len(vocab)))
                new_doc.append(doc_id)
                new_tf.append(min(count, MAX_TF))
            lengths.append(len(tokens))
        n_docs = max(len(self._doc_len), (max(doc_ids) + 1) if len(doc_ids) else 0)
        doc_len = np.zeros(n_docs, dtype=np.float32)
        doc_len[: len(self._doc_len)] = self._doc_len
        present = np.zeros(n_docs, dtype=bool)
        present[: len(self._present)] = self._present
        id_array = np.asarray(doc_ids, dtype=np.int64)
        if present[id_array].any():
            raise ValueError("document ids are already indexed")
        doc_len[id_array] = np.frombuffer(lengths, dtype=np.float32)
        present[id_array] = True
        old_tok = np.repeat(np.arange(len(self._vocab), dtype=np.int32), np.diff(self._indptr))
        tok = np.concatenate([old_tok, np.frombuffer(new_tok, dtype=np.int32)])
        del old_tok, new_tok
        doc = np.concatenate([self._post_doc, np.frombuffer(new_doc, dtype=np.int32)])
        del new_doc
        tf = np.concatenate([self._post_tf, np.frombuffer(new_tf, dtype=np.uint16)])
        del new_tf
        postings = [tok, doc, tf]
        del tok, doc, tf  # _from_postings frees each once sorted
        return self._from_postings(vocab, postings, doc_len, present)

    def without_docs(self, doc_ids: Sequence[int] | np.ndarray) -> Bm25SparseIndex:
        """A new index without these documents (IDF and average length are recomputed)."""
        drop = np.zeros(len(self._doc_len), dtype=bool)
        ids = np.asarray(doc_ids, dtype=np.int64)
        drop[ids[ids < len(drop)]] = True
        keep = ~drop[self._post_doc]
        tok = np.repeat(np.arange(len(self._vocab), dtype=np.int32), np.diff(self._indptr))[keep]
        doc_len = np.where(drop, 0.0, self._doc_len).astype(np.float32)
        postings = [tok, self._post_doc[keep], self._post_tf[keep]]
        del tok
        return self._from_postings(self._vocab, postings, doc_len, self._present & ~drop)

    @classmethod
    def _from_postings(
        cls, vocab: dict[str, int], postings: list[np.ndarray], doc_len: np.ndarray, present: np.ndarray
    ) -> Bm25SparseIndex:
        """An index from [token, doc, tf] posting arrays in any order; the list is emptied as they are sorted."""
        tok, doc, tf = postings
        postings.clear()
        order = np.lexsort((doc, tok))  # by token, then doc: columns sorted for searchsorted
        counts = np.bincount(tok, minlength=len(vocab))
        del tok
        indptr = np.zeros(len(vocab) + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        doc = doc[order]
        tf = tf[order]
        del order
        return cls(vocab, indptr, doc, tf, doc_len, present)

    def save(self, path: Path) -> None:
        """Write the index as one .npz file and a vocabulary .json next to it."""
        np.savez(
            path.with_suffix(".npz"),
            indptr=self._indptr,
            post_doc=self._post_doc,
            post_tf=self._post_tf,
            doc_len=self._doc_len,
            present=self._present,
        )
        tokens = sorted(self._vocab, key=self._vocab.__getitem__)
        path.with_suffix(".vocab.json").write_text(json.dumps(tokens, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Bm25SparseIndex:
        """Read an index written by `save`."""
        tokens = json.loads(path.with_suffix(".vocab.json").read_text(encoding="utf-8"))
        with np.load(path.with_suffix(".npz")) as data:
            arrays = {name: data[name] for name in data.files}
        vocab = {token: i for i, token in enumerate(tokens)}
        return cls(
            vocab,
            arrays["indptr"],
            arrays["post_doc"],
            arrays["post_tf"],
            arrays["doc_len"],
            arrays["present"],
        )
