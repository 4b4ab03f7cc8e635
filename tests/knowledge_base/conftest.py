"""Knowledge-base fixtures: a small FAQ in all three formats, and one real-model knowledge base per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.embedding import Embedder
from knowledge_base import KnowledgeBase, build_knowledge_base, load_faq
from knowledge_base.models import FaqEntry

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def faq_dir() -> Path:
    """A folder holding faq.csv, live.jsonl and english.md (14 entries, zh + en)."""
    return FIXTURES


@pytest.fixture(scope="session")
def faq_entries() -> list[FaqEntry]:
    """The fixture FAQ, loaded."""
    return load_faq([FIXTURES])


@pytest.fixture(scope="session")
def real_kb(real_embedder: Embedder, faq_entries: list[FaqEntry]) -> KnowledgeBase:
    """The fixture FAQ indexed with the real model, real FAISS and BM25, calibrated at build time."""
    return build_knowledge_base(faq_entries, real_embedder)
