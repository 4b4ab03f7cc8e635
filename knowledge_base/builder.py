"""Build a KnowledgeBase from FAQ entries: embed, index, and calibrate the fusion models on the FAQ itself."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, datetime

from assistant.embedding import Embedder
from assistant.errors import InvalidInput
from knowledge_base.calibration import context_probes, plain_probes, training_set
from knowledge_base.features import CONTEXT_VIEWS, context_feature_names, feature_names
from knowledge_base.fusion import train_fusion
from knowledge_base.indexes import IndexConfig, IndexSet, Progress, entry_documents
from knowledge_base.knowledge import FusionModels, KnowledgeBase
from knowledge_base.manifest import Manifest
from knowledge_base.models import FaqEntry


def build_knowledge_base(
    entries: Sequence[FaqEntry],
    embedder: Embedder | None,
    *,
    config: IndexConfig | None = None,
    source_checksum: str = "",
    version: str = "",
    seed: int = 0,
    progress: Progress | None = None,
) -> KnowledgeBase:
    """Index every question, alternative (and answer if configured) and train the calibrated fusion."""
    config = config or IndexConfig()
    if not entries:
        raise InvalidInput("cannot build a knowledge base without entries")
    if len({e.id for e in entries}) != len(entries):
        raise InvalidInput("entry ids must be unique")
    if config.dense and embedder is None:
        raise InvalidInput("a dense index needs an embedder")
    if not config.dense and not config.channels:
        raise InvalidInput("enable the dense index or at least one lexical channel")
    dimension = embedder.dimension if embedder is not None and config.dense else 0
    n_docs = sum(len(entry_documents(e, config)) for e in entries)
    embed = embedder.embed if embedder is not None and config.dense else None
    ix = IndexSet.empty(config, dimension, n_docs).add(entries, embed, progress)
    rng = random.Random(seed)
    plain = plain_probes(ix, rng, embed)
    followups = context_probes(ix, plain, rng)
    plain_model = train_fusion(training_set(ix, plain, embed, progress), feature_names(config))
    context_model = train_fusion(
        training_set(ix, followups, embed, progress), context_feature_names(config), views=CONTEXT_VIEWS
    )
    manifest = Manifest(
        version=version,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        model=embedder.name if embedder is not None else "",
        dimension=dimension,
        entry_count=len(entries),
        doc_count=n_docs,
        source_checksum=source_checksum,
        index_kind=ix.dense.kind if ix.dense is not None else "none",
        config=config,
        calibration={"plain": plain_model.metrics, "context": context_model.metrics},
    )
    return KnowledgeBase(ix, FusionModels(plain_model, context_model), embedder, manifest)
