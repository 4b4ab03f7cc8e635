"""The hybrid intent classifier (embedding + lexical TF-IDF, one linear model), its model directory and staleness."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from assistant.embedding import Embedder
from assistant.errors import ConfigError, InvalidInput
from assistant.intents.calibration import softmax
from assistant.intents.data import data_checksum, load_examples
from assistant.intents.encoder import FineTunedEncoder, load_encoder
from assistant.intents.features import Featurizer, TfidfBlock
from assistant.intents.glossing import gloss_vectors as gloss_vectors_of
from assistant.intents.glossing import text_and_gloss_vectors
from assistant.intents.types import OOS, IntentPrediction

FORMAT_VERSION = 2  # 2: the gloss vector beside the text vector for Chinese data (1 still loads)
READABLE_FORMATS = (1, 2)
MANIFEST = "manifest.json"
WEIGHTS = "weights.npz"
VOCABULARY = "vocabulary.json"
ENCODER_DIR = "encoder"
RANKING_SIZE = 5


@dataclass
class HybridIntentClassifier:
    """Intent classifier behind the `IntentClassifier` port; rejects as `oos` below the calibrated threshold."""

    classes: tuple[str, ...]  # model classes; may include `oos` when the data had out-of-scope examples
    featurizer: Featurizer
    coef: np.ndarray  # features × classes, so a sparse row gathers only the weight rows of its own terms
    intercept: np.ndarray
    temperature: float
    threshold: float
    embedder: Embedder
    manifest: dict[str, Any] = field(default_factory=dict)
    # The model's own fine-tuned encoder; None: the features use the shared embedder's vectors.
    encoder: FineTunedEncoder | None = None
    # Whether each text's English-gloss vector follows its text vector in the features (glossing.py).
    gloss: bool = False

    @property
    def labels(self) -> tuple[str, ...]:
        """The in-scope intents this model can predict."""
        return tuple(c for c in self.classes if c != OOS)

    @property
    def dimension(self) -> int:
        """Embedding dimension the model expects."""
        return int(self.coef.shape[0] - self.featurizer.width) // (2 if self.gloss else 1)

    def scores(self, texts: Sequence[str], vectors: np.ndarray) -> np.ndarray:
        """Raw linear scores (columns follow `classes`); `vectors` are the dense columns (text, then gloss)."""
        features = self.featurizer.transform(texts, vectors)
        result: np.ndarray = np.asarray(features @ self.coef) + self.intercept
        return result

    def probabilities(
        self, texts: Sequence[str], vectors: np.ndarray | None = None, gloss_vectors: np.ndarray | None = None
    ) -> np.ndarray:
        """Calibrated class probabilities (columns follow `classes`)."""
        dense = self._dense(texts, vectors, gloss_vectors)
        return softmax(self.scores(texts, dense) / self.temperature)

    def predict(
        self, texts: Sequence[str], vectors: np.ndarray | None = None, gloss_vectors: np.ndarray | None = None
    ) -> list[IntentPrediction]:
        """Predict intents; `vectors` (the shared embedder's rows for `texts`) and `gloss_vectors` (its rows for
        the texts' English glosses, as the knowledge base embeds them) skip embedding again.

        A model with its own fine-tuned encoder ignores both and embeds the texts with that encoder.
        """
        if not texts:
            return []
        probs = self.probabilities(texts, vectors, gloss_vectors)
        in_scope = [i for i, c in enumerate(self.classes) if c != OOS]
        oos_col = self.classes.index(OOS) if OOS in self.classes else None
        out = []
        for text, row in zip(texts, probs, strict=True):
            ranked = sorted(in_scope, key=lambda i: -row[i])[:RANKING_SIZE]
            ranking = tuple((self.classes[i], round(float(row[i]), 4)) for i in ranked)
            top, confidence = ranking[0]
            rejected = confidence < self.threshold or (oos_col is not None and row[oos_col] > confidence)
            if rejected:
                out.append(IntentPrediction(text, OOS, round(1.0 - confidence, 4), ranking))
            else:
                out.append(IntentPrediction(text, top, confidence, ranking))
        return out

    def _dense(self, texts: Sequence[str], vectors: np.ndarray | None, gloss_vectors: np.ndarray | None) -> np.ndarray:
        """The dense feature columns: the text vectors, then (a gloss model) the gloss vectors."""
        if self.encoder is not None:
            return self.encoder.embed(list(texts))
        if self.gloss and vectors is None and gloss_vectors is None:
            return np.hstack(text_and_gloss_vectors(self.embedder, texts))
        text = self.embedder.embed(list(texts)) if vectors is None else self._checked(texts, vectors, "vectors")
        if not self.gloss:
            return text
        if gloss_vectors is None:
            glossed = gloss_vectors_of(self.embedder, texts, text)
        else:
            glossed = self._checked(texts, gloss_vectors, "gloss_vectors")
        return np.hstack([text, glossed])

    def _checked(self, texts: Sequence[str], vectors: np.ndarray, name: str) -> np.ndarray:
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim == 1:
            vectors = vectors[None, :]
        if vectors.shape != (len(texts), self.dimension):
            raise InvalidInput(f"{name} have shape {vectors.shape}, expected ({len(texts)}, {self.dimension})")
        return vectors

    def save(self, directory: Path | str) -> Path:
        """Write manifest.json, weights.npz and vocabulary.json (written to temp names, then renamed)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        arrays: dict[str, np.ndarray] = {
            "coef": self.coef.astype(np.float32),
            "intercept": self.intercept.astype(np.float32),
        }
        vocab: dict[str, Any] = {}
        for i, block in enumerate(self.featurizer.blocks):
            arrays[f"idf_{i}"] = block.idf
            terms = sorted(block.vocabulary, key=block.vocabulary.__getitem__)
            vocab[str(i)] = {"analyzer": block.analyzer, "weight": block.weight, "terms": terms}
        manifest = {
            **self.manifest,
            "format": FORMAT_VERSION,
            "classes": list(self.classes),
            "labels": list(self.labels),
            "threshold": self.threshold,
            "temperature": self.temperature,
            "embedding_weight": self.featurizer.embedding_weight,
            "gloss_vectors": self.gloss,
        }
        if self.encoder is not None:
            self.encoder.save(directory / ENCODER_DIR)
        savez: Any = np.savez_compressed  # numpy's stubs do not type **arrays
        with open(directory / f"{WEIGHTS}.tmp", "wb") as handle:
            savez(handle, **arrays)
        (directory / f"{VOCABULARY}.tmp").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
        (directory / f"{MANIFEST}.tmp").write_text(json.dumps(manifest, ensure_ascii=False, indent=2), "utf-8")
        # The manifest goes last: a directory with a manifest always has the matching weights.
        for name in (WEIGHTS, VOCABULARY, MANIFEST):
            os.replace(directory / f"{name}.tmp", directory / name)
        return directory


def read_manifest(directory: Path | str) -> dict[str, Any]:
    """The model directory's manifest (ConfigError when missing or unreadable)."""
    path = Path(directory) / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no intent model here; train one with `python -m assistant.intents train`") from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: unreadable intent model manifest ({exc})") from exc
    if not isinstance(manifest, dict):
        raise ConfigError(f"{path}: the manifest is not a JSON object")
    return manifest


def load_intent_model(directory: Path | str, embedder: Embedder) -> HybridIntentClassifier:
    """Load a saved model; `embedder` must be the model it was trained with (checked by name)."""
    directory = Path(directory)
    manifest = read_manifest(directory)
    if manifest.get("format") not in READABLE_FORMATS:
        raise ConfigError(f"{directory}: model format {manifest.get('format')} is not {FORMAT_VERSION}; retrain it")
    if manifest.get("embedding_model") != embedder.name:
        raise ConfigError(
            f"{directory}: trained with embedding model {manifest.get('embedding_model')!r}, "
            f"but the embedder is {embedder.name!r}; retrain it"
        )
    try:
        with np.load(directory / WEIGHTS, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
        vocab = json.loads((directory / VOCABULARY).read_text(encoding="utf-8"))
        blocks = [
            TfidfBlock(
                spec["analyzer"],
                {t: j for j, t in enumerate(spec["terms"])},
                arrays[f"idf_{i}"],
                float(spec["weight"]),
            )
            for i, spec in sorted(vocab.items(), key=lambda item: int(item[0]))
        ]
        coef, intercept = arrays["coef"], arrays["intercept"]
        temperature = float(manifest["temperature"])
        featurizer = Featurizer(blocks, float(manifest["embedding_weight"]))
        classes = tuple(str(c) for c in manifest["classes"])
        threshold = float(manifest["threshold"])
        glossed = bool(manifest.get("gloss_vectors", False))
    except (OSError, KeyError, ValueError, TypeError) as exc:
        raise ConfigError(f"{directory}: incomplete or corrupt intent model ({exc!r}); retrain it") from exc
    dense = int(manifest.get("embedding_dimension", -1)) * (2 if glossed else 1)
    if coef.shape != (featurizer.width + dense, len(classes)):
        raise ConfigError(f"{directory}: weights do not match the vocabulary and classes; retrain it")
    encoder = None
    if manifest.get("encoder"):
        encoder = load_encoder(directory / ENCODER_DIR, str(manifest["encoder"].get("name", "fine-tuned")))
    return HybridIntentClassifier(
        classes, featurizer, coef, intercept, temperature, threshold, embedder, manifest, encoder, glossed
    )


def is_stale(model_dir: Path | str, data_path: Path | str, embedding_model_name: str) -> bool:
    """True when the model is missing, of another format or embedder, or trained on other data than the file.

    A model of an older format still loads, but is stale: the server retrains it with the current features.

    A data file that cannot be read also counts as stale: rebuilding then reports the file's error.
    """
    try:
        manifest = read_manifest(model_dir)
    except ConfigError:
        return True
    if manifest.get("format") != FORMAT_VERSION or manifest.get("embedding_model") != embedding_model_name:
        return True
    try:
        checksum = data_checksum(load_examples(data_path))
    except InvalidInput:
        return True
    return bool(manifest.get("data_checksum") != checksum)
