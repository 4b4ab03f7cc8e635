"""The engine's ports: the knowledge base it searches, and the optional writer of grounded answers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from knowledge_base.features import QueryVectors
from knowledge_base.models import FaqEntry, SearchResult


class FaqRetriever(Protocol):
    """What the dialogue needs from the knowledge base: calibrated search with context, and lookup."""

    def search(
        self, query: str, *, top_k: int = 5, context: str | None = None, vector: np.ndarray | None = None
    ) -> SearchResult: ...

    def search_batch(
        self,
        queries: Sequence[str],
        *,
        top_k: int = 5,
        contexts: Sequence[str | None] | None = None,
        vectors: np.ndarray | None = None,
    ) -> list[SearchResult]: ...

    def get(self, faq_id: str) -> FaqEntry | None: ...

    def query_vectors(self, texts: Sequence[str]) -> list[QueryVectors]:
        """The vectors a search of `texts` uses, embedded in one model call with everything else such a search
        embeds (a text's gloss, glosses of words the index lacks), so a search given these vectors finds the rest
        in the embedding cache; `QueryVectors()` (no `text`) when the knowledge base embeds nothing."""
        ...


@dataclass(frozen=True)
class AnswerRequest:
    """What a writer may use: the question, the retrieved FAQ entries (best first), recent turns."""

    question: str
    entries: tuple[FaqEntry, ...]
    history: tuple[tuple[str, str], ...]  # (role, text), oldest first, the current question excluded
    locale: str


@dataclass(frozen=True)
class DraftAnswer:
    """A written answer and the FAQ ids it says it used."""

    text: str
    cited: tuple[str, ...]


class AnswerWriter(Protocol):
    """Phrases an answer from retrieved FAQ entries; may raise, the engine then keeps the curated answer."""

    def write(self, request: AnswerRequest) -> DraftAnswer: ...
