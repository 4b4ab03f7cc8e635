"""`python -m knowledge_base`: build a snapshot from FAQ sources, or search one (queries on stdin)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from assistant.embedding import Embedder
from assistant.errors import AssistantError
from assistant.st_embedder import BUNDLED_MODEL

MODEL_CACHE = "models"  # exported ONNX models live under the snapshot root: search never needs torch


def _progress(stage: str, total: int) -> Callable[[int], None]:
    from tqdm import tqdm

    bar = tqdm(total=total, desc=stage, unit="text", file=sys.stderr, leave=False, dynamic_ncols=True)

    def advance(n: int) -> None:
        bar.update(n)
        if bar.n >= total:
            bar.close()

    return advance


def _embedder(root: Path, model: str, backend: str) -> Embedder:
    from assistant.st_embedder import load_embedder

    return load_embedder(model, backend, cache_dir=root / MODEL_CACHE)


def cmd_build(args: argparse.Namespace, out: TextIO) -> int:
    """Import the sources, build a new snapshot version, publish it."""
    from knowledge_base.indexes import IndexConfig
    from knowledge_base.snapshots import SnapshotManager
    from knowledge_base.sources import alternatives_note, load_faq, source_checksum

    entries = load_faq(args.sources)
    embedder = _embedder(args.out, args.model, args.backend)
    manager = SnapshotManager(args.out, embedder)
    config = IndexConfig(index_answers=args.index_answers)
    version = manager.build(entries, source_checksum(args.sources), config=config, progress=_progress)
    manifest = manager.current.manifest
    print(
        f"built {version}: {manifest.entry_count} entries, {manifest.doc_count} texts, "
        f"{manifest.index_kind} index -> {manager.path(version)}",
        file=out,
    )
    if note := alternatives_note(entries):
        print(f"note: {note}", file=out)
    return 0


def cmd_search(args: argparse.Namespace, out: TextIO, stdin: TextIO) -> int:
    """Answer one query per stdin line with the published snapshot."""
    from knowledge_base.snapshot_io import read_manifest
    from knowledge_base.snapshots import SnapshotManager

    manager = SnapshotManager(args.index, None)
    version = manager.latest()
    if version is None:
        raise _Usage(f"no knowledge-base snapshot in {args.index} (run `python -m knowledge_base build` first)")
    manifest = read_manifest(manager.path(version))
    embedder = _embedder(args.index, manifest.model, args.backend) if manifest.config.dense else None
    kb = SnapshotManager(args.index, embedder).current
    for line in stdin:
        query = line.strip()
        if not query:
            continue
        result = kb.search(query, top_k=args.top_k)
        if args.json:
            hits = [{"id": h.id, "score": round(h.score, 4), "question": h.question} for h in result.hits]
            record = {"query": result.query, "answerable": result.answerable, "hits": hits}
            print(json.dumps(record, ensure_ascii=False), file=out)
        else:
            verdict = "answer" if result.answerable else "no answer (out of scope)"
            print(f"{query}\n  -> {verdict}, threshold {result.threshold:.2f}", file=out)
            for rank, hit in enumerate(result.hits, start=1):
                print(f"  {rank}. [{hit.score:.2f}] {hit.id}: {hit.question}", file=out)
        out.flush()
    return 0


class _Usage(Exception):
    """A user error the CLI reports in one line (exit code 2)."""


def parser() -> argparse.ArgumentParser:
    """The argument parser."""
    root = argparse.ArgumentParser(prog="python -m knowledge_base", description=__doc__)
    sub = root.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="build a new snapshot version from FAQ files or folders")
    build.add_argument("sources", nargs="+", type=Path, help=".csv/.jsonl/.md files or folders of them")
    build.add_argument("--out", required=True, type=Path, help="snapshot root (a new version is created inside)")
    build.add_argument("--model", default=BUNDLED_MODEL, help="embedding model name or path")
    build.add_argument("--backend", default="onnx", choices=("onnx", "torch"))
    build.add_argument(
        "--index-answers",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also index answer texts (default; raises top-1 on the dev sets: README, Quality and speed)",
    )
    search = sub.add_parser("search", help="search the published snapshot; one query per stdin line")
    search.add_argument("--index", required=True, type=Path, help="snapshot root")
    search.add_argument("--top-k", type=int, default=5)
    search.add_argument("--json", action="store_true", help="one JSON object per line")
    search.add_argument("--backend", default="onnx", choices=("onnx", "torch"))
    return root


def main(argv: Sequence[str] | None = None, stdin: TextIO | None = None, out: TextIO | None = None) -> int:
    """Run the CLI; errors print one line to stderr and return exit code 2."""
    args = parser().parse_args(argv)
    out = out or sys.stdout
    try:
        if args.command == "build":
            return cmd_build(args, out)
        if args.top_k < 1:
            raise _Usage("--top-k must be at least 1")
        return cmd_search(args, out, stdin or sys.stdin)
    except (AssistantError, _Usage) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
