"""`python -m evals.intent_benchmarks`: BANKING77, CLINC150, xSID-zh and the demo intents, beside published figures.

Every figure comes from this run: models are trained on the training split only (thresholds by cross-validation,
or on CLINC150's published validation split), then scored once on the test split. `--split dev` scores development
splits instead (a 15% hold-out of BANKING77's train.csv, CLINC150's validation split, evals/data/intents_dev.csv)
and writes intents_dev.md: use it while changing the model, and the test split once at the end. Embeddings of the
benchmark texts are cached under data/cache/intents, so training time is reported as the fit time plus the
embedding time measured (or, when cached, extrapolated from a timed sample) in the same run.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from assistant.embedding import Embedder, embed_all
from assistant.intents.data import Example, load_examples
from assistant.intents.glossing import gloss_vectors
from assistant.intents.metrics import evaluate
from assistant.intents.model import HybridIntentClassifier, load_intent_model
from assistant.intents.training import TrainingConfig, train_intent_model
from assistant.intents.types import OOS
from assistant.st_embedder import BACKENDS
from evals.intent_datasets import (
    CACHE_DIR,
    DEFAULT_DATA_DIR,
    ROOT,
    Benchmark,
    cached_embeddings,
    development_split,
    load_banking77,
    load_clinc150,
    load_xsid_zh,
)
from evals.intent_report import render

REPORTS = ROOT / "evals" / "reports"
DEMO_TRAIN = ROOT / "demo" / "intents.csv"
DEMO_TEST = ROOT / "evals" / "data" / "intents_test.csv"
DEMO_DEV = ROOT / "evals" / "data" / "intents_dev.csv"
SPLITS = ("test", "dev")
# CLINC150 has a validation split to calibrate on, so its encoder can be fine-tuned (chosen on that split).
CLINC_FINE_TUNE_EPOCHS = 2.0
ALL = ("banking77", "clinc150", "xsid", "demo")
PUBLISHED: dict[str, list[dict[str, Any]]] = {
    "banking77": [
        {"system": "BERT-large (fine-tuned)", "accuracy": 93.66, "source": "Casanueva et al. 2020"},
        {"system": "USE+ConveRT (frozen encoders + MLP)", "accuracy": 93.36, "source": "Casanueva et al. 2020"},
    ],
    "clinc150": [
        {"system": "BERT, oos-train", "in_scope_accuracy": 96.9, "oos_recall": 40.3, "source": "Larson et al. 2019"},
        {
            "system": "BERT, softmax threshold",
            "in_scope_accuracy": 96.2,
            "oos_recall": 52.3,
            "source": "Larson et al. 2019",
        },
    ],
}


@dataclass
class Context:
    """What every benchmark run shares: the embedder, the timing sample size, whether to run ablations."""

    embedder: Embedder
    single_thread: Embedder
    latency_samples: int
    ablation: bool = False


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _embedding_seconds(ctx: Context, texts: Sequence[str]) -> tuple[float, bool]:
    """Seconds to embed `texts` now: measured on a sample of up to 512 texts and scaled (length-sorted batches)."""
    rng = np.random.default_rng(0)
    sample = [texts[i] for i in rng.choice(len(texts), size=min(512, len(texts)), replace=False)]
    started = time.perf_counter()
    embed_all(ctx.embedder, sample)
    seconds = (time.perf_counter() - started) * len(texts) / len(sample)
    return seconds, len(sample) < len(texts)


def _latency(model: HybridIntentClassifier, texts: Sequence[str], n: int, single: Embedder) -> dict[str, Any]:
    """Milliseconds per single-text `predict` as served: with the embedding(s), and given the shared vectors.

    Given the shared embedder's vector is the chat turn's path (one embedding per turn for intents and the KB);
    a model with its own fine-tuned encoder embeds the text again there. `single` is the shared model with a
    one-thread ONNX session, timed too: which is faster for one short text depends on how busy the CPU is.
    """
    import os

    texts = list(texts)[:n]
    model.predict([texts[0]])  # warm the tokenizer, jieba and pinyin caches
    full, given, single_thread = [], [], []
    for text in texts:
        vector = model.embedder.embed([text])
        # a served turn's search embeds the message's English gloss too, and hands it over with the vector
        glossed = gloss_vectors(model.embedder, [text], vector) if model.gloss else None
        started = time.perf_counter()
        model.predict([text])
        full.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        model.predict([text], vector, glossed)
        given.append((time.perf_counter() - started) * 1000)
        if model.encoder is None:
            started = time.perf_counter()
            own = single.embed([text])
            model.predict([text], own, gloss_vectors(single, [text], own) if model.gloss else None)
            single_thread.append((time.perf_counter() - started) * 1000)
    full.sort()
    return {
        "median_ms": round(statistics.median(full), 2),
        "p95_ms": round(full[int(0.95 * (len(full) - 1))], 2),
        "classifier_only_median_ms": round(statistics.median(given), 3),
        "single_thread_median_ms": round(statistics.median(single_thread), 2) if single_thread else None,
        "own_encoder": model.encoder is not None,
        "samples": len(full),
        "load_average": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else -1.0,
    }


def _operating_points(
    model: HybridIntentClassifier, texts: Sequence[str], vectors: np.ndarray, gold: Sequence[str]
) -> list[dict[str, float]]:
    """In-scope accuracy and OOS recall on the test set at other thresholds: the trade-off, for information only."""
    probs = model.probabilities(texts, vectors)
    classes = np.array(model.classes)
    in_cols = np.array([c != OOS for c in model.classes])
    in_probs = np.where(in_cols, probs, -1.0)
    top, conf = classes[in_probs.argmax(axis=1)], in_probs.max(axis=1)
    oos_won = probs[:, ~in_cols].max(axis=1) > conf if (~in_cols).any() else np.zeros(len(gold), dtype=bool)
    gold_arr = np.array(gold)
    is_oos = gold_arr == OOS
    points = []
    for threshold in (0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8):
        rejected = (conf < threshold) | oos_won
        points.append(
            {
                "threshold": threshold,
                "in_scope_accuracy": round(float(((top == gold_arr) & ~rejected)[~is_oos].mean()), 4),
                "oos_recall": round(float(rejected[is_oos].mean()), 4),
            }
        )
    return points


def _train_and_test(
    ctx: Context,
    bench: Benchmark,
    *,
    calibrate_on_validation: bool,
    label: str,
    config: TrainingConfig | None = None,
) -> dict[str, Any]:
    train_texts = [ex.text for ex in bench.train]
    vectors = cached_embeddings(train_texts, ctx.embedder)
    validation = bench.validation if calibrate_on_validation else None
    v_vectors = cached_embeddings([ex.text for ex in validation], ctx.embedder) if validation else None
    ablation = None
    if ctx.ablation:
        from evals.intent_ablation import ablate

        _say(f"[{label}] feature ablation on the training data")
        ablation = ablate(bench.train, vectors, holdout=0.15 if len(bench.train) > 2000 else None)
    _say(f"[{label}] training on {len(bench.train)} examples")
    started = time.perf_counter()
    model = train_intent_model(
        bench.train,
        ctx.embedder,
        vectors=vectors,
        validation=validation,
        validation_vectors=v_vectors,
        config=config,
        progress=lambda m: _say(f"[{label}] {m}"),
    )
    fit_seconds = time.perf_counter() - started
    with tempfile.TemporaryDirectory(prefix="intent-model-") as folder:
        # Score the model as served: saved, then loaded (a fine-tuned encoder then runs in ONNX Runtime).
        model.save(folder)
        model = load_intent_model(folder, ctx.embedder)
        result = _score(ctx, model, bench, label)
    result["training_seconds"] = _training_seconds(ctx, train_texts, fit_seconds)
    result["ablation"] = ablation
    return result


def _training_seconds(ctx: Context, train_texts: Sequence[str], fit_seconds: float) -> dict[str, Any]:
    embed_seconds, estimated = _embedding_seconds(ctx, train_texts)
    return {
        "fit": round(fit_seconds, 1),
        "embedding": round(embed_seconds, 1),
        "embedding_estimated": estimated,
        "total": round(fit_seconds + embed_seconds, 1),
    }


def _score(ctx: Context, model: HybridIntentClassifier, bench: Benchmark, label: str) -> dict[str, Any]:
    test_texts = [ex.text for ex in bench.test]
    test_vectors = cached_embeddings(test_texts, ctx.embedder)
    gold = [ex.intent for ex in bench.test]
    report = evaluate(gold, model.predict(test_texts, test_vectors), known=model.labels)
    has_oos = OOS in gold and OOS in model.classes
    points = _operating_points(model, test_texts, test_vectors, gold) if has_oos else []
    return {
        "name": label,
        "run_at": time.strftime("%Y-%m-%d %H:%M"),
        "train_examples": len(bench.train),
        "test_examples": len(bench.test),
        "intents": len(model.labels),
        "calibration": model.manifest["calibration"],
        "threshold": round(model.threshold, 4),
        "held_out_metrics": model.manifest["metrics"],
        "test": report.as_dict(),
        "encoder": model.manifest.get("encoder"),
        "latency": _latency(model, test_texts, ctx.latency_samples, ctx.single_thread),
        "test_operating_points": points,
    }


def run_demo(ctx: Context, test_file: Path = DEMO_TEST) -> dict[str, Any] | None:
    """Demo intents: cross-validated figures, and the labelled file `test_file` when it exists."""
    if not DEMO_TRAIN.exists():
        _say(f"[demo] {DEMO_TRAIN} is absent; skipped")
        return None
    train = load_examples(DEMO_TRAIN)
    test: list[Example] = load_examples(test_file) if test_file.exists() else []
    if not test:
        _say(f"[demo] {test_file} is absent: cross-validation figures only")
    result = _train_and_test(ctx, Benchmark("demo", train, test), calibrate_on_validation=False, label="demo")
    result["test_file"] = str(test_file.relative_to(ROOT)) if test else None
    return result


def _runs(name: str, split: str) -> list[tuple[str, str, bool, TrainingConfig | None]]:
    """The models trained per benchmark: (result key, label, calibrate on the validation split, config)."""
    if name != "clinc150":
        return [(name, name if split == "test" else f"{name}-dev", False, None)]
    runs: list[tuple[str, str, bool, TrainingConfig | None]] = [
        ("clinc150", "clinc150 (fine-tuned encoder)", True, TrainingConfig(fine_tune_epochs=CLINC_FINE_TUNE_EPOCHS)),
        ("clinc150_frozen", "clinc150 (shared embedding)", True, None),
    ]
    if split == "test":
        # The product has no validation split: the shared embedding with the threshold from cross-validation.
        runs.append(("clinc150_cv", "clinc150 (shared embedding, threshold by cross-validation)", False, None))
    return runs


def run(
    only: Sequence[str],
    data_dir: Path,
    latency_samples: int,
    ablation: bool = False,
    split: str = "test",
    backend: str = "onnx",
) -> dict[str, Any]:
    """Run the selected benchmarks on their test splits (or development splits); returns the JSON report."""
    from assistant.st_embedder import BUNDLED_MODEL, load_embedder

    embedder = load_embedder(BUNDLED_MODEL, backend, cache_dir=ROOT / "data" / "models")
    getattr(embedder, "warm_up", lambda: None)()
    single_thread = load_embedder(BUNDLED_MODEL, backend, cache_dir=ROOT / "data" / "models", threads=1)
    getattr(single_thread, "warm_up", lambda: None)()
    ctx = Context(embedder, single_thread, latency_samples, ablation)
    results: dict[str, Any] = {}
    missing: list[str] = []
    loaders = {"banking77": load_banking77, "clinc150": load_clinc150, "xsid": load_xsid_zh}
    for name in only:
        if name == "demo":
            results["demo"] = run_demo(ctx, DEMO_DEV if split == "dev" else DEMO_TEST)
            continue
        try:
            bench = loaders[name](data_dir)
        except FileNotFoundError as exc:
            _say(f"[{name}] data missing ({exc.filename}); skipped")
            missing.append(name)
            continue
        if split == "dev":
            dev = development_split(bench)
            if dev is None:
                _say(f"[{name}] has no development split; skipped")
                continue
            bench = dev
        plain = Context(ctx.embedder, ctx.single_thread, ctx.latency_samples)
        ablated = False
        for key, label, on_validation, config in _runs(name, split):
            # One feature ablation per benchmark, beside the first run on the shared embedding (what it ablates).
            run_ctx = ctx if config is None and not ablated else plain
            ablated = ablated or run_ctx.ablation
            results[key] = _train_and_test(
                run_ctx, bench, calibrate_on_validation=on_validation, label=label, config=config
            )
    return {
        "split": split,
        "embedding_model": embedder.name,
        "machine": {"python": platform.python_version(), "processor": platform.machine(), "cpus": _cpus()},
        "published": PUBLISHED,
        "results": results,
        "missing": missing,
        "cache": str(CACHE_DIR.relative_to(ROOT)),
    }


def _order(key: str) -> int:
    """Report order: the benchmarks as ALL lists them, each one's runs as `_runs` lists them."""
    runs = ["banking77", "clinc150", "clinc150_frozen", "clinc150_cv", "xsid", "demo"]
    return runs.index(key) if key in runs else len(runs)


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmarks and write evals/reports/intents.{md,json} (intents_dev.{md,json} with `--split dev`)."""
    parser = argparse.ArgumentParser(prog="python -m evals.intent_benchmarks", description=__doc__)
    parser.add_argument("--only", default=",".join(ALL), help=f"comma-separated subset of {','.join(ALL)}")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR, help="folder holding the public datasets")
    parser.add_argument("--out-dir", type=Path, default=REPORTS, help="where intents.md and intents.json go")
    parser.add_argument("--latency-samples", type=int, default=200, help="single-text predictions to time")
    parser.add_argument("--ablation", action="store_true", help="also compare feature blocks on training data")
    parser.add_argument("--split", choices=SPLITS, default="test", help="score test splits, or development splits")
    parser.add_argument("--backend", choices=BACKENDS, default="onnx", help="embedding backend")
    args = parser.parse_args(argv)
    only = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(only) - set(ALL))
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(ALL)}")
    report = run(only, args.data_dir, args.latency_samples, args.ablation, args.split, args.backend)
    stem = "intents" if args.split == "test" else "intents_dev"
    previous = args.out_dir / f"{stem}.json"
    if previous.exists():  # a partial run (--only) keeps the other benchmarks' figures from earlier runs
        kept = json.loads(previous.read_text(encoding="utf-8")).get("results", {})
        report["results"] = {**{k: v for k, v in kept.items() if v is not None}, **report["results"]}
    report["results"] = dict(sorted(report["results"].items(), key=lambda item: _order(item[0])))
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / f"{stem}.json").write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", "utf-8")
    (args.out_dir / f"{stem}.md").write_text(render(report), "utf-8")
    _say(f"wrote {args.out_dir / stem}.md and {stem}.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
