"""Public intent benchmarks (BANKING77, CLINC150, xSID-zh) as train/test splits, and an on-disk embedding cache."""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.embedding import Embedder
from assistant.intents.data import Example

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA_DIR = ROOT.parent / "shared" / "data"
CACHE_DIR = ROOT / "data" / "cache" / "intents"


@dataclass(frozen=True)
class Benchmark:
    """A train split (may hold `oos` rows), an optional validation split, and a test split."""

    name: str
    train: list[Example]
    test: list[Example]
    validation: list[Example] | None = None


def _csv_examples(path: Path, text_col: str, label_col: str) -> list[Example]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [Example(row[text_col], row[label_col]) for row in csv.DictReader(handle)]


def load_banking77(data_dir: Path) -> Benchmark:
    """BANKING77: train.csv → test.csv, columns `text,category`."""
    folder = data_dir / "banking77"
    return Benchmark(
        "banking77",
        _csv_examples(folder / "train.csv", "text", "category"),
        _csv_examples(folder / "test.csv", "text", "category"),
    )


def load_clinc150(data_dir: Path) -> Benchmark:
    """CLINC150 full: train + oos_train → test + oos_test; val + oos_val for calibration."""
    data = json.loads((data_dir / "clinc150" / "data_full.json").read_text(encoding="utf-8"))

    def split(*keys: str) -> list[Example]:
        return [Example(str(text), str(label)) for key in keys for text, label in data[key]]

    return Benchmark(
        "clinc150",
        split("train", "oos_train"),
        split("test", "oos_test"),
        validation=split("val", "oos_val"),
    )


def read_conll_intents(path: Path) -> list[Example]:
    """The `# text =` / `# intent =` comment lines of an xSID CoNLL file."""
    examples: list[Example] = []
    text: str | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# text ="):
            text = line.split("=", 1)[1].strip()
        elif line.startswith("# intent =") and text is not None:
            examples.append(Example(text, line.split("=", 1)[1].strip()))
            text = None
    return examples


def load_xsid_zh(data_dir: Path) -> Benchmark:
    """xSID Chinese: few-shot training on zh.valid, testing on zh.test."""
    folder = data_dir / "xsid_zh"
    return Benchmark(
        "xsid_zh", read_conll_intents(folder / "zh.valid.conll"), read_conll_intents(folder / "zh.test.conll")
    )


def holdout_split(examples: Sequence[Example], share: float, seed: int = 0) -> tuple[list[Example], list[Example]]:
    """A stratified split of `examples`: (the rest, `share` of each intent), the same for the same seed."""
    rng = np.random.default_rng(seed)
    by_intent: dict[str, list[int]] = {}
    for i, ex in enumerate(examples):
        by_intent.setdefault(ex.intent, []).append(i)
    held: set[int] = set()
    for intent in sorted(by_intent):
        rows = rng.permutation(by_intent[intent])
        held.update(int(i) for i in rows[: round(share * len(rows))])
    rest = [ex for i, ex in enumerate(examples) if i not in held]
    return rest, [ex for i, ex in enumerate(examples) if i in held]


def development_split(bench: Benchmark) -> Benchmark | None:
    """The benchmark with its test split replaced by a development split (None when it has none).

    BANKING77: a stratified 15% of train.csv; CLINC150: a stratified half of its validation split (val + oos_val),
    the other half calibrating. xSID-zh has no data to spare (300 training examples).
    """
    if bench.validation is not None:
        calibration, held = holdout_split(bench.validation, 0.5)
        return Benchmark(f"{bench.name}-dev", bench.train, held, validation=calibration)
    if len(bench.train) > 2000:
        train, held = holdout_split(bench.train, 0.15)
        return Benchmark(f"{bench.name}-dev", train, held)
    return None


def cached_embeddings(texts: Sequence[str], embedder: Embedder, cache_dir: Path = CACHE_DIR) -> np.ndarray:
    """Embed texts once per (model, texts) and keep the matrix on disk, so repeated runs skip the model."""
    digest = hashlib.sha256("\x1f".join([embedder.name, *texts]).encode()).hexdigest()[:20]
    path = cache_dir / f"{digest}.npy"
    if path.exists():
        matrix = np.asarray(np.load(path), dtype=np.float32)
        if matrix.shape[0] == len(texts):
            return matrix
    vectors = np.concatenate(
        [embedder.embed(list(texts[i : i + 256])) for i in range(0, len(texts), 256)]
        or [np.zeros((0, embedder.dimension), dtype=np.float32)]
    )
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npy")
    np.save(tmp, vectors)
    tmp.replace(path)
    return vectors
