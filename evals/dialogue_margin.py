"""Calibrate the dialogue's disambiguation margin (policy.yaml `retrieval.disambiguation_margin`) from the FAQ.

`python -m evals.dialogue_margin [--faq PATH] [--data-dir DIR] [--check CSV ...] [--out FILE.md]`

Every question and alternative question of every FAQ entry is searched with that wording hidden from the index
(leave-one-out): the entry can then only be found through its other wordings and its answer, as a user's
paraphrase would find it. For each margin the engine's rule is scored on those searches: answer the top hit, or
ask among the hits within the margin of it (see `assistant.dialogue.margin`). The margin of highest value is the
calibrated one. `--check` scores the same margins on labelled query files (`query,expected_id`) for comparison.

It also calibrates `retrieval.corroborated_evidence`: on labelled queries (`--queries`, default the KB development
sets) whose best hit falls below the answerable bar, answering those the intent classifier backs (see
`assistant.dialogue.corroboration`) from each share of the bar up is scored +1 per right answer and -1 per wrong
one (a fallback scores 0); the share of highest value is the calibrated one.
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
from collections.abc import Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np

from assistant.dialogue.corroboration import (
    SHARE_GRID,
    EntryIntents,
    ShareScore,
    WeakHit,
    backed_hit,
    choose_share,
    evidence_share,
    score_share,
)
from assistant.dialogue.margin import MARGIN_GRID, LabelledSearch, MarginScore, choose_margin, score_margin
from knowledge_base.models import Hit, SearchResult

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "evals" / "reports" / "dialogue_margin.md"
DEV_QUERIES = tuple(ROOT / "evals" / "data" / f"kb_dev{n}_queries.csv" for n in ("", "2", "3"))
TOP_K = 5


def _content(faq: Path | None, data_dir: Path) -> Any:
    from assistant.content import ContentManager
    from assistant.settings import Settings
    from assistant.st_embedder import load_embedder

    overrides: dict[str, Any] = {"data_dir": data_dir, "log_json": False}
    if faq is not None:
        overrides["kb_path"] = faq
    settings = Settings(**overrides)
    embedder = load_embedder(settings.embedding_model, settings.embedding_backend, cache_dir=settings.model_cache_dir)
    content = ContentManager(settings, embedder)
    content.prepare(progress=True)
    return content


def leave_one_out(kb: Any) -> list[LabelledSearch]:
    """Each question/alternative of each entry searched with that document hidden, labelled with its entry."""
    from knowledge_base.features import score_candidates

    ix = kb.indexes
    model = kb.models.plain
    probes: list[tuple[str, int, int]] = []  # (text, slot, hidden document)
    for slot, entry in enumerate(ix.entries):
        if entry is None:
            continue
        docs = ix.docs_of(slot)
        for pos, text in enumerate(entry.all_questions):
            probes.append((text, slot, int(docs[ix.doc_pos[docs] == pos][0])))
    texts = [p[0] for p in probes]
    vectors = kb.query_vectors(texts)
    out = []
    for i, (text, slot, doc) in enumerate(probes):
        found = score_candidates(ix, text, vectors[i], exclude=np.asarray([doc], dtype=np.int64))
        probs = model.predict(found.matrix)
        order = np.argsort(-probs, kind="stable")[:TOP_K]
        hits = []
        for row in order:
            hit_entry = ix.entries[int(found.slots[row])]
            hits.append(Hit(hit_entry.id, float(probs[row]), hit_entry.question, hit_entry.category))
        answerable = bool(hits) and hits[0].score >= model.threshold
        entry = ix.entries[slot]
        out.append(LabelledSearch(SearchResult(text, tuple(hits), answerable, model.threshold), entry.id))
    return out


def labelled_queries(kb: Any, paths: Sequence[Path]) -> list[LabelledSearch]:
    """Labelled queries (`query,expected_id`, empty id: out of scope) searched as the dialogue does."""
    out = []
    for path in paths:
        with path.open(encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                if row.get("context"):
                    continue  # follow-ups need their conversation; the margin is about standalone questions
                result = kb.search(row["query"], top_k=TOP_K)
                out.append(LabelledSearch(result, row.get("expected_id") or None))
    return out


def weak_hits(content: Any, paths: Sequence[Path]) -> list[WeakHit]:
    """Labelled standalone queries whose best hit is below the answerable bar, with the intent's backing."""
    kb, intents = content.kb, content.intents
    entry_intents = EntryIntents(kb, intents, content.embedder)
    out = []
    for path in paths:
        with path.open(encoding="utf-8") as handle:
            rows = [r for r in csv.DictReader(handle) if not r.get("context")]
        vectors = content.embedder.embed([r["query"] for r in rows])
        predictions = intents.predict([r["query"] for r in rows], vectors)
        for row, vector, intent in zip(rows, vectors, predictions, strict=True):
            result = kb.search(row["query"], top_k=TOP_K, vector=vector)
            top = result.top
            if result.answerable or top is None:
                continue
            found = backed_hit(result, intent, entry_intents.of, None)
            hit = found[0] if found else top
            out.append(
                WeakHit(evidence_share(hit, result), found is not None, hit.id == (row.get("expected_id") or None))
            )
    return out


def _share_table(samples: Sequence[WeakHit], chosen: ShareScore) -> list[str]:
    lines = ["| share of the bar | backed weak hits answered | right | wrong | value |", "|---|---|---|---|---|"]
    for share in SHARE_GRID:
        s = score_share(samples, share)
        mark = " **(chosen)**" if abs(share - chosen.share) < 1e-9 else ""
        lines.append(f"| {share:.2f}{mark} | {s.right + s.wrong} | {s.right} | {s.wrong} | {s.value:+d} |")
    return [*lines, ""]


def _table(title: str, scores: Sequence[MarginScore], chosen: float) -> list[str]:
    lines = [
        f"### {title}",
        "",
        "| margin | value | answered right | asked | answered wrong |",
        "|---|---|---|---|---|",
    ]
    for s in scores:
        mark = " **(chosen)**" if abs(s.margin - chosen) < 1e-9 else ""
        shares = f"{s.answered_right:.1%} | {s.asked:.1%} | {s.answered_wrong:.1%}"
        lines.append(f"| {s.margin:.2f}{mark} | {s.value:.3f} | {shares} |")
    return [*lines, ""]


def main(argv: Sequence[str] | None = None) -> int:
    """Print (and write) the calibrated margin with its value table."""
    parser = argparse.ArgumentParser(prog="python -m evals.dialogue_margin", description=__doc__)
    parser.add_argument("--faq", type=Path, help="FAQ file or folder (default: the demo FAQ)")
    parser.add_argument("--data-dir", type=Path, help="reuse builds across runs (default: a temporary dir)")
    parser.add_argument("--check", type=Path, nargs="*", default=[], help="labelled query CSVs to compare on")
    parser.add_argument(
        "--queries", type=Path, nargs="*", default=list(DEV_QUERIES), help="labelled queries for the weak-hit bar"
    )
    parser.add_argument("--out", type=Path, default=REPORT)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() if args.data_dir is None else nullcontext(str(args.data_dir)) as tmp:
        content = _content(args.faq, Path(tmp))
        kb = content.snapshots.current
        calibration = leave_one_out(kb)
        chosen = choose_margin(calibration)
        shown = [m for m in MARGIN_GRID if m <= 0.3 and round(m * 100) % 2 == 0]
        lines = [
            "# Disambiguation margin",
            "",
            f"Calibrated on {len(calibration)} leave-one-out FAQ wordings: **{chosen.margin:.2f}** "
            f"(value {chosen.value:.3f}; answering right counts 1, asking with the right entry listed 0.5).",
            "",
            *_table("Leave-one-out FAQ wordings", [score_margin(calibration, m) for m in shown], chosen.margin),
        ]
        if args.check:
            check = labelled_queries(kb, args.check)
            best = choose_margin(check)
            lines += [
                f"Check on {len(check)} labelled queries ({', '.join(p.name for p in args.check)}): "
                f"best there {best.margin:.2f}.",
                "",
                *_table("Labelled queries", [score_margin(check, m) for m in shown], chosen.margin),
            ]
        if args.queries:
            weak = weak_hits(content, args.queries)
            share = choose_share(weak)
            backed = sum(w.corroborated for w in weak)
            lines += [
                "# Corroborated weak hits",
                "",
                f"{len(weak)} of the labelled queries ({', '.join(p.name for p in args.queries)}) find their best "
                f"hit below the answerable bar; the intent backs one of the hits in {backed}. "
                "Calibrated `corroborated_evidence`: "
                f"**{share.share:.2f}** of the bar (value {share.value:+d}: a right answer +1, a wrong one -1).",
                "",
                *_share_table(weak, share),
            ]
    report = "\n".join(lines) + "\n"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report, encoding="utf-8")
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
