"""An intent-specific sentence encoder: the base model fine-tuned with a large-margin cosine loss (torch), served
with ONNX Runtime once saved.

Fine-tuning pulls the examples of one intent together and pushes intents apart, which the frozen embedding cannot:
on CLINC150's validation split it raised closed-set accuracy and, more, the in-scope accuracy at high out-of-scope
recall (see evals/reports/intents.md). It costs minutes of CPU per epoch and one more embedding per chat turn, and
the bundled model is English-only: on the Chinese demo intents it did not help, so it is off by default.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from assistant.embedding import normalize_rows
from assistant.errors import ConfigError

Progress = Callable[[str], None]
WEIGHT_FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json")


@dataclass(frozen=True)
class FineTuning:
    """Hyper-parameters of the fine-tuning (chosen on CLINC150's validation split)."""

    epochs: float = 2.0
    learning_rate: float = 8e-5
    batch_size: int = 32
    margin: float = 0.2  # CosFace margin subtracted from the true class's cosine
    scale: float = 20.0  # cosines times this are the logits
    max_tokens: int = 64  # intents are short; longer texts are truncated while training only
    # One torch thread: on the shared 2-core machine two threads spent 4x the CPU per batch waiting on each other.
    threads: int = 1


class FineTunedEncoder:
    """Embedder over a fine-tuned copy of the base model: the torch model after training, ONNX Runtime once saved."""

    def __init__(self, name: str, model: Any = None, tokenizer: Any = None, directory: Path | None = None) -> None:
        self._name = name
        self._model = model
        self._tokenizer = tokenizer
        self._directory = directory
        self._onnx: Any = None
        if model is None and directory is None:
            raise ValueError("a fine-tuned encoder needs its torch model or its saved directory")

    @property
    def name(self) -> str:
        return self._name

    @property
    def dimension(self) -> int:
        if self._model is not None:
            return int(self._model.config.hidden_size)
        return int(self._served().dimension)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised mean-pooled vectors, like the base embedder's."""
        if self._model is None:
            result: np.ndarray = self._served().embed(texts)
            return result
        import torch

        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with torch.no_grad():
            return normalize_rows(_pool(self._model, self._tokenizer, list(texts), 128).numpy())

    def warm_up(self) -> None:
        """Load the ONNX session of a saved encoder (exported from its weights the first time)."""
        if self._model is None:
            self._served().warm_up()

    def save(self, directory: Path) -> None:
        """Write the fine-tuned weights and tokenizer (the ONNX export is made from them when first loaded)."""
        directory.mkdir(parents=True, exist_ok=True)
        if self._model is not None:
            self._model.save_pretrained(str(directory))
            self._tokenizer.save_pretrained(str(directory))
        elif self._directory is not None and self._directory.resolve() != directory.resolve():
            for name in WEIGHT_FILES:
                shutil.copyfile(self._directory / name, directory / name)

    def _served(self) -> Any:
        if self._onnx is None:
            from assistant.st_embedder import OnnxEmbedder

            assert self._directory is not None
            # The export lives beside the weights, so a model directory carries everything it serves with.
            self._onnx = OnnxEmbedder(str(self._directory), cache_dir=self._directory)
        return self._onnx


def _pool(model: Any, tokenizer: Any, texts: list[str], max_tokens: int) -> Any:
    import torch

    batch = tokenizer(texts, padding=True, truncation=True, max_length=max_tokens, return_tensors="pt")
    hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
    return torch.nn.functional.normalize(pooled, dim=-1)


def load_encoder(directory: Path, name: str) -> FineTunedEncoder:
    """The saved encoder of a model directory, served with ONNX Runtime."""
    missing = [f for f in WEIGHT_FILES if not (directory / f).exists()]
    if missing:
        raise ConfigError(f"{directory}: fine-tuned encoder files missing ({', '.join(missing)}); retrain the model")
    return FineTunedEncoder(name, directory=directory)


def fine_tune(
    base_model: str,
    texts: Sequence[str],
    y: np.ndarray,
    n_classes: int,
    base_vectors: np.ndarray,
    config: FineTuning,
    seed: int = 0,
    progress: Progress | None = None,
) -> FineTunedEncoder:
    """Fine-tune the base model on labelled texts with a CosFace loss; class vectors start at the intent centroids."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    from assistant.st_embedder import resolve_model_path

    say = progress or (lambda _msg: None)
    path = resolve_model_path(base_model)
    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
        model = AutoModel.from_pretrained(path)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot fine-tune {base_model!r}: not a local transformers model ({exc})") from exc
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(config.threads)
    torch.manual_seed(seed)
    try:
        labels = torch.as_tensor(y, dtype=torch.long)
        centroids = np.stack(
            [base_vectors[y == c].mean(axis=0) if (y == c).any() else base_vectors[0] for c in range(n_classes)]
        )
        weights = torch.nn.Parameter(
            torch.nn.functional.normalize(torch.as_tensor(centroids, dtype=torch.float32), dim=-1)
        )
        optimizer = torch.optim.AdamW(
            [{"params": model.parameters(), "lr": config.learning_rate}, {"params": [weights], "lr": 1e-2}],
            weight_decay=0.01,
        )
        steps = max(1, int(config.epochs * len(texts) / config.batch_size))
        warmup = max(1, steps // 10)

        def schedule(step: int) -> float:
            return min(1.0, step / warmup) * max(0.0, (steps - step) / (steps - warmup + 1))

        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
        rng = np.random.default_rng(seed)
        order = np.concatenate([rng.permutation(len(texts)) for _ in range(int(np.ceil(config.epochs)))])
        model.train()
        for step in range(steps):
            rows = order[step * config.batch_size : (step + 1) * config.batch_size]
            pooled = _pool(model, tokenizer, [texts[i] for i in rows], config.max_tokens)
            cosines = pooled @ torch.nn.functional.normalize(weights, dim=-1).T
            cosines = cosines - config.margin * torch.nn.functional.one_hot(labels[rows], n_classes)
            loss = torch.nn.functional.cross_entropy(config.scale * cosines, labels[rows])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            if step % 100 == 0 or step == steps - 1:
                say(f"  fine-tuning step {step + 1}/{steps}, loss {loss.item():.3f}")
        model.eval()
    finally:
        torch.set_num_threads(previous_threads)
    return FineTunedEncoder(f"{base_model}+intents", model=model, tokenizer=tokenizer)
