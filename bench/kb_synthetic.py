"""Deterministic synthetic FAQs and queries for the knowledge-base benchmark, built from the demo FAQ's words."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from assistant.embedding import normalize_rows
from knowledge_base import FaqEntry, load_faq
from knowledge_base.analysis import analyze
from knowledge_base.calibration import oos_corpus
from knowledge_base.perturb import perturb

DEMO_FAQ = Path(__file__).resolve().parents[1] / "demo" / "faq"
_SUFFIXES = ("", "？", "吗", "呢", "怎么办")


def _vocabulary(entries: Sequence[FaqEntry]) -> list[str]:
    words = {w for e in entries if e.locale == "zh" for q in e.all_questions for w in analyze(q).words}
    return sorted(w for w in words if len(w) >= 2 and not w.isascii())


def _vary(text: str, vocab: Sequence[str], rng: random.Random) -> str:
    """Swap one content word for a random vocabulary word, or name a product, so entries differ."""
    words = [w for w in analyze(text).words if w in text]
    if words and rng.random() < 0.6:
        return text.replace(rng.choice(words), rng.choice(vocab), 1)
    return f"《{rng.choice(vocab)}{rng.choice(vocab)}》{text}{rng.choice(_SUFFIXES)}"


def synthetic_faq(n: int, seed: int = 0, source: Path = DEMO_FAQ) -> list[FaqEntry]:
    """`n` FAQ entries shaped like the demo FAQ (0-3 alternatives, zh and en), deterministic for a seed."""
    demo = load_faq([source])
    vocab = _vocabulary(demo)
    out: list[FaqEntry] = []
    for i in range(n):
        rng = random.Random(seed * 1_000_003 + i)
        template = rng.choice(demo)
        alts = rng.sample(list(template.alt_questions), rng.randint(0, min(3, len(template.alt_questions))))
        out.append(
            FaqEntry(
                id=f"syn-{i:06d}",
                question=_vary(template.question, vocab, rng),
                answer=template.answer,
                category=template.category,
                alt_questions=tuple(_vary(a, vocab, rng) for a in alts),
                locale=template.locale,
            )
        )
    return out


def synthetic_queries(entries: Sequence[FaqEntry], n: int, seed: int = 1) -> list[str]:
    """Three in four are perturbed FAQ questions, the rest generic out-of-scope queries."""
    rng = random.Random(seed)
    oos = list(oos_corpus())
    return [perturb(rng.choice(entries).question, rng) if i % 4 else rng.choice(oos) for i in range(n)]


class RandomUnitEmbedder:
    """Stand-in embedder for huge benchmarks: a fixed random unit vector per text (no model cost)."""

    def __init__(self, dimension: int = 384) -> None:
        self._dimension = dimension

    @property
    def name(self) -> str:
        return f"random-unit-{self._dimension}"

    @property
    def dimension(self) -> int:
        return self._dimension

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        rows = [
            np.random.default_rng(int.from_bytes(hashlib.blake2b(t.encode(), digest_size=8).digest(), "little"))
            .standard_normal(self._dimension)
            .astype(np.float32)
            for t in texts
        ]
        return normalize_rows(np.stack(rows)) if rows else np.zeros((0, self._dimension), np.float32)
