"""`python -m assistant.intents`: train a model from `text,intent` data, predict texts from stdin, evaluate on a set."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from assistant.embedding import Embedder
from assistant.errors import AssistantError
from assistant.st_embedder import BUNDLED_MODEL


def _embedder(model: str, backend: str, cache_dir: Path | None) -> Embedder:
    from assistant.st_embedder import load_embedder

    if cache_dir is None:
        from assistant.settings import get_settings

        cache_dir = get_settings().model_cache_dir
    return load_embedder(model, backend, cache_dir=cache_dir)


def _model_embedder(args: argparse.Namespace) -> Embedder:
    from assistant.intents.model import read_manifest

    manifest = read_manifest(args.model)
    return _embedder(str(manifest.get("embedding_model", BUNDLED_MODEL)), args.backend, args.cache_dir)


def cmd_train(args: argparse.Namespace, out: TextIO) -> int:
    """Train on a CSV/YAML file, calibrate, save the model directory."""
    from assistant.intents.data import load_examples
    from assistant.intents.training import TrainingConfig, train_intent_model

    examples = load_examples(args.data)
    validation = load_examples(args.validation) if args.validation else None
    embedder = _embedder(args.embedding_model, args.backend, args.cache_dir)

    def say(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    config = TrainingConfig(folds=args.folds, fine_tune_epochs=args.fine_tune_epochs)
    model = train_intent_model(examples, embedder, validation=validation, config=config, progress=say)
    model.save(args.out)
    metrics = model.manifest.get("metrics", {})
    print(
        json.dumps(
            {
                "model": str(args.out),
                "labels": len(model.labels),
                "threshold": round(model.threshold, 4),
                "metrics": metrics,
            },
            ensure_ascii=False,
        ),
        file=out,
    )
    return 0


def cmd_predict(args: argparse.Namespace, out: TextIO, stdin: TextIO) -> int:
    """One JSON line per stdin line: text, intent (`oos` when rejected), confidence."""
    from assistant.intents.model import load_intent_model

    model = load_intent_model(args.model, _model_embedder(args))
    for line in stdin:
        text = line.rstrip("\r\n")
        if not text.strip():
            continue
        prediction = model.predict([text])[0]
        record = {"text": text, "intent": prediction.intent, "confidence": round(prediction.confidence, 4)}
        if args.ranking:
            record["ranking"] = [[label, score] for label, score in prediction.ranking]
        print(json.dumps(record, ensure_ascii=False), file=out, flush=True)
    return 0


def cmd_evaluate(args: argparse.Namespace, out: TextIO) -> int:
    """Accuracy, macro-F1, in-scope accuracy, OOS recall and the most confused pairs on a labelled set."""
    from assistant.embedding import embed_all
    from assistant.intents.data import load_examples
    from assistant.intents.metrics import evaluate
    from assistant.intents.model import load_intent_model

    examples = load_examples(args.test)
    model = load_intent_model(args.model, _model_embedder(args))
    texts = [ex.text for ex in examples]
    started = time.perf_counter()
    predictions = model.predict(texts, embed_all(model.embedder, texts))
    seconds = time.perf_counter() - started
    report = evaluate([ex.intent for ex in examples], predictions, known=model.labels)
    if args.json:
        print(json.dumps({**report.as_dict(), "seconds": round(seconds, 2)}, ensure_ascii=False), file=out)
        return 0

    def pct(value: float | None) -> str:
        return "n/a" if value is None else f"{100 * value:.2f}%"

    lines = [
        f"examples            {report.examples} ({report.oos_examples} out-of-scope)",
        f"accuracy            {pct(report.accuracy)}",
        f"macro-F1            {pct(report.macro_f1)}",
        f"in-scope accuracy   {pct(report.in_scope_accuracy)} (closed-set, no rejection: "
        f"{pct(report.closed_set_accuracy)}; rejected {pct(report.in_scope_rejected)})",
        f"out-of-scope recall {pct(report.oos_recall)}",
    ]
    if report.unknown_intents:
        lines.append(f"intents the model does not know: {', '.join(report.unknown_intents)}")
    if report.confused:
        lines.append("most confused (gold -> predicted: count):")
        lines.extend(f"  {gold} -> {pred}: {count}" for gold, pred, count in report.confused)
    print("\n".join(lines), file=out)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the intents CLI."""
    parser = argparse.ArgumentParser(prog="python -m assistant.intents", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    def embedding_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--backend", choices=("onnx", "torch"), default="onnx", help="embedding runtime")
        p.add_argument("--cache-dir", type=Path, default=None, help="where exported ONNX models are cached")

    train = sub.add_parser("train", help="train a model from CSV `text,intent` (or YAML `intent: [examples]`)")
    train.add_argument("data", type=Path)
    train.add_argument("--out", type=Path, required=True, help="model directory to write")
    train.add_argument("--model", dest="embedding_model", default=BUNDLED_MODEL, help="embedding model name")
    train.add_argument("--validation", type=Path, help="labelled file to calibrate on instead of cross-validation")
    train.add_argument(
        "--folds",
        type=int,
        default=None,
        help="cross-validation folds (default 10 up to 2,000 examples, 5 up to 20,000, else 3)",
    )
    train.add_argument(
        "--fine-tune-epochs",
        type=float,
        default=0.0,
        help="fine-tune an intent-specific copy of the embedding model first (needs --validation; English data)",
    )
    embedding_options(train)

    predict = sub.add_parser("predict", help="classify texts read from stdin, one per line; JSON lines out")
    predict.add_argument("--model", type=Path, required=True, help="model directory")
    predict.add_argument("--ranking", action="store_true", help="also print the top intents with probabilities")
    embedding_options(predict)

    evaluate = sub.add_parser("evaluate", help="evaluate a model on a labelled CSV/YAML file")
    evaluate.add_argument("--model", type=Path, required=True, help="model directory")
    evaluate.add_argument("test", type=Path)
    evaluate.add_argument("--json", action="store_true", help="machine-readable output")
    embedding_options(evaluate)
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None, stdin: TextIO | None = None) -> int:
    """Run the CLI; exit code 2 with a message on stderr for bad input files or models."""
    args = build_parser().parse_args(argv)
    out = out or sys.stdout
    try:
        if args.command == "train":
            return cmd_train(args, out)
        if args.command == "predict":
            return cmd_predict(args, out, stdin or sys.stdin)
        return cmd_evaluate(args, out)
    except AssistantError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
