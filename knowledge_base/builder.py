"""Build a KnowledgeBase from FAQ entries: embed, index, and calibrate the fusion models on the FAQ itself."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, datetime

from assistant.embedding import Embedder
from assistant.errors import InvalidInput
from knowledge_base.calibration import TRAIN_NEGATIVES, context_probes, hardest_rows, plain_probes, training_set
from knowledge_base.features import CONTEXT_VIEWS, context_feature_names, feature_names
from knowledge_base.fusion import CHOICE, CHOICE_MATCHED, TrainingSet, train_fusion
from knowledge_base.indexes import Embed, IndexConfig, IndexSet, Progress, entry_documents
from knowledge_base.knowledge import FusionModels, KnowledgeBase
from knowledge_base.manifest import Manifest
from knowledge_base.models import FaqEntry
from knowledge_base.prior import MIN_ALTERNATIVES_SHARE, alternatives_share, prior_models


def index_entries(
    entries: Sequence[FaqEntry], embedder: Embedder | None, config: IndexConfig, progress: Progress | None = None
) -> IndexSet:
    """Validate the entries and index every question, alternative (and answer if configured)."""
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
    return IndexSet.empty(config, dimension, n_docs).add(entries, _embed_of(embedder, config), progress)


def calibrate(ix: IndexSet, embedder: Embedder | None, seed: int = 0, progress: Progress | None = None) -> FusionModels:
    """Train the plain and the follow-up fusion models on probes drawn from the indexed FAQ with `seed`.

    A FAQ with too few alternative questions to calibrate itself borrows the shipped prior when it fits
    (`knowledge_base.prior`)."""
    live = [e for e in ix.entries if e is not None]
    if embedder is not None and alternatives_share(live) < MIN_ALTERNATIVES_SHARE:
        prior = prior_models(ix.config, embedder.name)
        if prior is not None:
            return FusionModels(*prior, borrowed=True)
    embed = _embed_of(embedder, ix.config)
    rng = random.Random(seed)
    plain = plain_probes(ix, rng, embed)
    followups = context_probes(ix, plain, rng)
    kind = ix.config.fusion
    # a choice model normalises over every candidate search will see, so it trains on all of them
    negatives = None if kind in (CHOICE, CHOICE_MATCHED) else TRAIN_NEGATIVES
    plain_data = training_set(ix, plain, embed, progress, negatives)
    context_data = training_set(ix, followups, embed, progress, negatives)
    plain_model = train_fusion(plain_data, feature_names(ix.config), kind=kind, reference=_reference(plain_data, kind))
    context_model = train_fusion(
        context_data,
        context_feature_names(ix.config),
        views=CONTEXT_VIEWS,
        kind=kind,
        reference=_reference(context_data, kind),
    )
    return FusionModels(plain_model, context_model)


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
    ix = index_entries(entries, embedder, config, progress)
    models = calibrate(ix, embedder, seed, progress)
    manifest = Manifest(
        version=version,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        model=embedder.name if embedder is not None else "",
        dimension=ix.dimension,
        entry_count=len(entries),
        doc_count=ix.doc_count,
        source_checksum=source_checksum,
        index_kind=ix.dense.kind if ix.dense is not None else "none",
        config=config,
        calibration={
            "plain": models.plain.metrics,
            "context": models.context.metrics,
            **({"prior": {"alternatives_share": alternatives_share(entries)}} if models.borrowed else {}),
        },
    )
    return KnowledgeBase(ix, models, embedder, manifest)


def _reference(data: TrainingSet, kind: str) -> TrainingSet | None:
    """The rows the pointwise model trains on, whose F1 bar fixes the matched choice model's OOS rejection."""
    return hardest_rows(data, TRAIN_NEGATIVES) if kind == CHOICE_MATCHED else None


def _embed_of(embedder: Embedder | None, config: IndexConfig) -> Embed | None:
    return embedder.embed if embedder is not None and config.dense else None
