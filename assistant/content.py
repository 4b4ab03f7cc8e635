"""Operator content at run time: builds (when missing or stale), loads and hot-swaps the KB and intent model.

The FAQ sources are the operator's `kb_path` plus an overlay of entries published from the knowledge loop
(`<data_dir>/kb_overlay/`). The intent model is retrained when its training data or the embedder changes.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from assistant.dialogue import DialogueEngine, Flows, Policy, load_flows, load_policy, validate_flow_faq_ids
from assistant.embedding import Embedder
from assistant.intents.types import IntentClassifier
from assistant.settings import DEMO_DIR, Settings
from knowledge_base.features import QueryVectors
from knowledge_base.models import FaqEntry, SearchResult

log = logging.getLogger(__name__)
OVERLAY_FILE = "published.jsonl"

Say = Callable[[str], None]


def _tqdm_progress(enabled: bool) -> Any:
    """A KB-builder progress factory drawing tqdm bars on stderr (or nothing)."""
    if not enabled:
        return None

    def factory(stage: str, total: int) -> Callable[[int], None]:
        from tqdm import tqdm

        bar = tqdm(total=total, desc=stage, unit="text", file=sys.stderr, dynamic_ncols=True)

        def advance(n: int) -> None:
            bar.update(n)
            if bar.n >= total:
                bar.close()

        return advance

    return factory


class LiveKnowledgeBase:
    """A stable handle on whichever snapshot is current: reloads swap the object underneath atomically."""

    def __init__(self, manager: Any) -> None:
        self._manager = manager

    def search(
        self, query: str, *, top_k: int = 5, context: str | None = None, vector: np.ndarray | None = None
    ) -> SearchResult:
        """Search the current snapshot."""
        result: SearchResult = self._manager.current.search(query, top_k=top_k, context=context, vector=vector)
        return result

    def search_batch(
        self,
        queries: Sequence[str],
        *,
        top_k: int = 5,
        contexts: Sequence[str | None] | None = None,
        vectors: np.ndarray | None = None,
    ) -> list[SearchResult]:
        """Search the current snapshot for many queries at once (one model call for the batch)."""
        results: list[SearchResult] = self._manager.current.search_batch(
            queries, top_k=top_k, contexts=contexts, vectors=vectors
        )
        return results

    def query_vectors(self, texts: Sequence[str]) -> list[QueryVectors]:
        """The current snapshot's query vectors for `texts` (see `FaqRetriever.query_vectors`)."""
        found: list[QueryVectors] = self._manager.current.query_vectors(texts)
        return found

    def get(self, faq_id: str) -> FaqEntry | None:
        """An entry of the current snapshot."""
        entry: FaqEntry | None = self._manager.current.get(faq_id)
        return entry

    @property
    def version(self) -> str:
        """The current snapshot's version."""
        return str(self._manager.current.version)


DEMO_FLOWS = DEMO_DIR / "flows.yaml"
DEMO_FAQ = DEMO_DIR / "faq"


class ContentManager:
    """Owns the KB snapshots, the intent model, flows and policy, and the engine built on them."""

    def __init__(self, settings: Settings, embedder: Embedder) -> None:
        from knowledge_base.snapshots import SnapshotManager

        self.settings = settings
        self.embedder = embedder
        self.snapshots = SnapshotManager(settings.kb_dir, embedder)
        self.kb = LiveKnowledgeBase(self.snapshots)
        self.intents: IntentClassifier | None = None
        self.flows: Flows | None = None
        self.policy: Policy | None = None
        self._build_lock = threading.Lock()

    # -- sources ---------------------------------------------------------------------------------------

    @property
    def overlay_dir(self) -> Path:
        """Where entries published from the knowledge loop are kept."""
        return self.settings.data_dir / "kb_overlay"

    def kb_sources(self) -> list[Path]:
        """The FAQ sources: the operator's path plus the published overlay, when it has entries."""
        sources = [self.settings.kb_path]
        if self.overlay_dir.is_dir():
            sources.extend(
                path
                for path in sorted(self.overlay_dir.iterdir())
                if path.is_file() and path.suffix in (".csv", ".jsonl", ".md") and path.stat().st_size > 0
            )
        return sources

    # -- preparing -------------------------------------------------------------------------------------

    def prepare(self, *, progress: bool = False, say: Say | None = None) -> None:
        """Build what is missing or stale, then load everything (idempotent)."""
        say = say or (lambda message: log.info(message))
        self.flows = load_flows(self.settings.flows_path)
        self.policy = load_policy(self.settings.policy_path)
        if self.settings.build_on_start and self.snapshots.is_stale(self.kb_sources()):
            say(f"building the knowledge base from {', '.join(str(p) for p in self.kb_sources())}")
            self.rebuild_kb(progress=progress)
        self.snapshots.reload()
        self.flows = self._fit_flows(self.flows, {e.id for e in self.snapshots.current.entries})
        self.intents = self._prepare_intents(progress=progress, say=say)

    def _fit_flows(self, flows: Flows, known_ids: set[str]) -> Flows:
        """The flows that fit the KB. An operator's flows file must name only existing FAQ ids (ConfigError
        otherwise). The bundled demo flows speak of the demo platform's products, so a server given its own FAQ but
        not its own flows runs without them instead of refusing to start or offering the demo's courses."""
        settings = self.settings
        if settings.flows_path.resolve() == DEMO_FLOWS.resolve() and settings.kb_path.resolve() != DEMO_FAQ.resolve():
            if flows.by_intent:
                log.warning(
                    "the demo flows are not used with this FAQ; set ASSISTANT_FLOWS_PATH to your own flows",
                    extra={"kb_path": str(settings.kb_path), "flows_path": str(settings.flows_path)},
                )
            return Flows({})
        validate_flow_faq_ids(flows, known_ids, str(settings.flows_path))
        return flows

    def _prepare_intents(self, *, progress: bool, say: Say) -> IntentClassifier:
        from assistant.errors import AssistantError
        from assistant.intents.data import load_examples
        from assistant.intents.model import is_stale, load_intent_model
        from assistant.intents.training import train_intent_model

        model_dir = self.settings.intent_model_dir

        def train() -> None:
            say(f"training the intent model from {self.settings.intents_path}")
            examples = load_examples(self.settings.intents_path)
            model = train_intent_model(examples, self.embedder, progress=say if progress else None)
            model.save(model_dir)

        if self.settings.build_on_start and is_stale(model_dir, self.settings.intents_path, self.embedder.name):
            train()
        try:
            return load_intent_model(model_dir, self.embedder)
        except AssistantError:
            if not self.settings.build_on_start:
                raise
            # A model saved by another version of the code: rebuild it rather than refuse to start.
            say("the saved intent model cannot be read by this version; retraining")
            train()
            return load_intent_model(model_dir, self.embedder)

    def rebuild_kb(self, *, progress: bool = False) -> str:
        """Import every source and build, publish and load a new snapshot; returns its version."""
        from knowledge_base.sources import alternatives_note, load_faq, source_checksum

        with self._build_lock:
            sources = self.kb_sources()
            entries = load_faq(sources)
            if note := alternatives_note(entries):
                log.warning(note)
            version: str = self.snapshots.build(entries, source_checksum(sources), progress=_tqdm_progress(progress))
            if self.flows is not None:
                self.flows = self._fit_flows(self.flows, {e.id for e in entries})
            log.info("knowledge base snapshot built", extra={"version": version, "entries": len(entries)})
            return version

    # -- run-time changes ------------------------------------------------------------------------------

    def publish(self, entries: Sequence[FaqEntry]) -> str:
        """Add entries (from the knowledge loop) to the overlay, rebuild and hot-swap; returns the new version."""
        self.overlay_dir.mkdir(parents=True, exist_ok=True)
        with (self.overlay_dir / OVERLAY_FILE).open("a", encoding="utf-8") as handle:
            for entry in entries:
                record = asdict(entry)
                record["alt_questions"] = list(entry.alt_questions)
                record["tags"] = list(entry.tags)
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        return self.rebuild_kb()

    def reload(self) -> str:
        """Load the newest published snapshot (built elsewhere, e.g. by the CLI) without failing searches."""
        return str(self.snapshots.reload().version)

    def rollback(self) -> str:
        """Go back to the previous snapshot."""
        return str(self.snapshots.rollback())

    def suggest(self, query: str, limit: int = 3) -> list[dict[str, Any]]:
        """The best KB answers for an agent's suggested replies."""
        result = self.kb.search(query, top_k=limit)
        suggestions = []
        for hit in result.hits:
            entry = self.kb.get(hit.id)
            if entry is not None:
                suggestions.append(
                    {"id": entry.id, "question": entry.question, "answer": entry.answer, "score": hit.score}
                )
        return suggestions

    def engine(self, *, use_context: bool = True, answer_writer: Any = None) -> DialogueEngine:
        """A dialogue engine over the live KB and the loaded intent model."""
        if self.intents is None or self.flows is None or self.policy is None:
            raise RuntimeError("prepare() first")
        return DialogueEngine(
            self.kb,
            self.intents,
            flows=self.flows,
            policy=self.policy,
            embedder=self.embedder,
            answer_writer=answer_writer,
            use_context=use_context,
        )
