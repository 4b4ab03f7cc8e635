"""Build-time calibration probes: paraphrase-like probes hide the wording they come from and the entry's question."""

from __future__ import annotations

import random

from knowledge_base.calibration import plain_probes
from knowledge_base.indexes import IndexConfig, IndexSet, entry_documents
from knowledge_base.models import FaqEntry


def _index(entries: list[FaqEntry]) -> IndexSet:
    config = IndexConfig(dense=False)
    n_docs = sum(len(entry_documents(e, config)) for e in entries)
    return IndexSet.empty(config, 0, n_docs).add(entries, None)


def _question_doc(ix: IndexSet, slot: int) -> int:
    docs = ix.docs_of(slot)
    return int(docs[ix.doc_pos[docs] == 0][0])


def test_paraphrase_probes_of_entries_with_alternatives_never_see_the_question(faq_entries: list[FaqEntry]) -> None:
    ix = _index(faq_entries)
    with_alts = {i for i, e in enumerate(ix.entries) if e is not None and e.alt_questions}
    assert with_alts
    probes = [p for p in plain_probes(ix, random.Random(0), paraphrase=True) if p.target in with_alts]
    hidden = [_question_doc(ix, p.target) in p.exclude for p in probes]
    # perturbed questions always hide it, held-out alternatives half the time
    assert sum(hidden) > 0.6 * len(hidden)
    plain = [p for p in plain_probes(ix, random.Random(0)) if p.target in with_alts]
    assert sum(_question_doc(ix, p.target) in p.exclude for p in plain) < sum(hidden)
