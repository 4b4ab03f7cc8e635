"""Write a KnowledgeBase to a snapshot directory and read it back (JSON, NumPy and FAISS files; no pickle)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from assistant.embedding import Embedder
from assistant.errors import ConfigError
from knowledge_base.expansion import WordVectors
from knowledge_base.fusion import FusionModel
from knowledge_base.indexes import IndexSet
from knowledge_base.knowledge import FusionModels, KnowledgeBase
from knowledge_base.manifest import FORMAT_VERSION, Manifest
from knowledge_base.models import FaqEntry
from knowledge_base.sparse_index import Bm25SparseIndex
from knowledge_base.vector_index import FaissVectorIndex

MANIFEST = "manifest.json"


def _entry_json(entry: FaqEntry | None) -> str:
    if entry is None:
        return "null"  # a removed slot keeps its place: document ids refer to slots
    return json.dumps(asdict(entry), ensure_ascii=False)


def _entry_from(data: dict[str, Any] | None) -> FaqEntry | None:
    if data is None:
        return None
    data["alt_questions"] = tuple(data.get("alt_questions", ()))
    data["tags"] = tuple(data.get("tags", ()))
    return FaqEntry(**data)


def write_snapshot(kb: KnowledgeBase, directory: Path, manifest: Manifest) -> None:
    """Write every file of a snapshot into `directory` (which must exist and be empty)."""
    ix = kb.indexes
    lines = "\n".join(_entry_json(e) for e in ix.entries)
    (directory / "entries.jsonl").write_text(lines + "\n", encoding="utf-8")
    np.savez(
        directory / "docs.npz",
        slot_first=ix.slot_first,
        slot_count=ix.slot_count,
        doc_slot=ix.doc_slot,
        doc_pos=ix.doc_pos,
    )
    if ix.dense is not None:
        ix.dense.save(directory / "dense.faiss")
    if ix.gloss is not None:
        ix.gloss.save(directory / "gloss.faiss")
    if ix.word_vectors is not None:
        ix.word_vectors.save(directory / "word_vectors")
    for name, index in ix.sparse.items():
        index.save(directory / f"sparse_{name}")
    models = {"plain": kb.models.plain.to_json(), "context": kb.models.context.to_json()}
    (directory / "fusion.json").write_text(json.dumps(models, indent=1), encoding="utf-8")
    # the manifest goes last: a directory with a manifest is complete
    (directory / MANIFEST).write_text(json.dumps(manifest.to_json(), ensure_ascii=False, indent=2), encoding="utf-8")


def read_manifest(directory: Path) -> Manifest:
    """The manifest of a snapshot directory."""
    try:
        data = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{directory} is not a knowledge-base snapshot: {exc}") from exc
    if int(data.get("format", 0)) > FORMAT_VERSION:
        raise ConfigError(f"{directory} was written by a newer version (format {data['format']})")
    return Manifest.from_json(data)


def read_snapshot(directory: Path, embedder: Embedder | None) -> KnowledgeBase:
    """Load a snapshot; the embedder must be the model the snapshot was built with."""
    manifest = read_manifest(directory)
    config = manifest.config
    if config.dense:
        if embedder is None:
            raise ConfigError(f"snapshot {manifest.version} has a dense index: an embedder is required")
        if embedder.name != manifest.model:
            raise ConfigError(
                f"snapshot {manifest.version} was built with {manifest.model!r}, not {embedder.name!r}: rebuild it"
            )
    entries = tuple(
        _entry_from(json.loads(line))
        for line in (directory / "entries.jsonl").read_text(encoding="utf-8").splitlines()
        if line.strip()
    )
    with np.load(directory / "docs.npz") as docs:
        tables = {name: docs[name].astype(np.int64) for name in docs.files}
    dense = FaissVectorIndex.load(directory / "dense.faiss") if config.dense else None
    glossed = FaissVectorIndex.load(directory / "gloss.faiss") if config.glossed else None
    words_file = directory / "word_vectors.json"
    word_vectors = WordVectors.load(directory / "word_vectors") if words_file.exists() else None
    sparse = {name: Bm25SparseIndex.load(directory / f"sparse_{name}") for name in config.channels}
    slot_of = {e.id: i for i, e in enumerate(entries) if e is not None}
    ix = IndexSet(
        config=config,
        dimension=manifest.dimension,
        entries=entries,
        slot_first=tables["slot_first"],
        slot_count=tables["slot_count"],
        doc_slot=tables["doc_slot"],
        doc_pos=tables["doc_pos"],
        dense=dense,
        sparse=sparse,
        slot_of=slot_of,
        gloss=glossed,
        word_vectors=word_vectors,
    )
    models = json.loads((directory / "fusion.json").read_text(encoding="utf-8"))
    fusion = FusionModels(FusionModel.from_json(models["plain"]), FusionModel.from_json(models["context"]))
    return KnowledgeBase(ix, fusion, embedder, manifest)
