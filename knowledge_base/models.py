"""FAQ entries and search results: the knowledge base's plain data types."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FaqEntry:
    """One curated question/answer pair; `alt_questions` are other ways users ask the same thing."""

    id: str
    question: str
    answer: str
    category: str = ""
    alt_questions: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    locale: str = "zh"

    @property
    def all_questions(self) -> tuple[str, ...]:
        """The main question followed by the alternatives."""
        return (self.question, *self.alt_questions)


@dataclass(frozen=True)
class Hit:
    """One candidate FAQ entry for a query; `score` is the calibrated probability that it answers it."""

    id: str
    score: float
    question: str
    category: str = ""
    matched: str = ""  # the question or alternative question that matched best
    features: dict[str, float] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class SearchResult:
    """Hits best first, and whether the top hit answers the query (else it is out of scope)."""

    query: str
    hits: tuple[Hit, ...]
    answerable: bool
    threshold: float = 0.5

    @property
    def top(self) -> Hit | None:
        """The best hit, or None."""
        return self.hits[0] if self.hits else None

    @property
    def margin(self) -> float:
        """Score gap between the best and second-best hit (1.0 when there is one hit)."""
        if not self.hits:
            return 0.0
        if len(self.hits) == 1:
            return self.hits[0].score
        return self.hits[0].score - self.hits[1].score
