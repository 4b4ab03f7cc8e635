"""FAQ knowledge base: importers, hybrid retrieval (FAISS + BM25 + pinyin), calibrated fusion, snapshots.

Serving (build once offline with `python -m knowledge_base build demo/faq --out data/kb`):

    manager = SnapshotManager("data/kb", embedder)   # same embedder (model name) the snapshot was built with
    kb = manager.current                              # loads the published snapshot once
    result = kb.search(text, top_k=5, context=last_question, vector=turn_vector)
    if result.answerable: answer = kb.get(result.top.id).answer
    manager.reload()                                  # after a new build: atomic swap, in-flight searches unaffected

Heavy libraries (faiss, scikit-learn) load lazily inside the adapters, so importing this package is cheap;
scikit-learn is needed only to build.
"""

from __future__ import annotations

from knowledge_base.builder import build_knowledge_base
from knowledge_base.indexes import IndexConfig
from knowledge_base.knowledge import KnowledgeBase
from knowledge_base.manifest import Manifest
from knowledge_base.models import FaqEntry, Hit, SearchResult
from knowledge_base.snapshots import SnapshotManager
from knowledge_base.sources import FaqImportError, load_faq, source_checksum

__all__ = [
    "FaqEntry",
    "FaqImportError",
    "Hit",
    "IndexConfig",
    "KnowledgeBase",
    "Manifest",
    "SearchResult",
    "SnapshotManager",
    "build_knowledge_base",
    "load_faq",
    "source_checksum",
]
