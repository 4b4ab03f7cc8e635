"""Replay labelled dialogues through the HTTP chat API and score actions and answers.

`python -m evals.dialogue_replay [--dialogues FILE] [--faq PATH --intents CSV --flows YAML --policy YAML]
 [--url http://host:port --user-secret S] [--compare-context] [--out PREFIX]`

Without `--url` it serves the app itself (built from the given content) on 127.0.0.1. Dialogues are JSONL:
`{"id", "user_tier", "turns": [{"user": "..." | "quick_reply": "...", "expect": {"action", "faq_id"?}}], "tags"?}`.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from assistant.dialogue.decision import FAQ_PAYLOAD_PREFIX

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DIALOGUES = ROOT / "evals" / "data" / "dialogues.jsonl"
REPORTS = ROOT / "evals" / "reports"
_RATE_LIMIT_RETRIES = 5


@dataclass
class TurnResult:
    """One replayed turn: what was expected and what the assistant did."""

    dialogue: str
    index: int
    text: str
    expected_action: str
    expected_faq: str | None
    action: str
    faq: str | None
    reply: str
    offered: tuple[str, ...] = ()  # FAQ entries offered as buttons (a question's candidates, a fallback's related)

    @property
    def action_ok(self) -> bool:
        """The expected action was taken."""
        return self.action == self.expected_action

    @property
    def ok(self) -> bool:
        """The expected action, and the expected FAQ entry when one is named."""
        return self.action_ok and (self.expected_faq is None or self.faq == self.expected_faq)


@dataclass
class Score:
    """Aggregates over replayed turns."""

    results: list[TurnResult] = field(default_factory=list)

    def _rate(self, items: list[TurnResult], attr: str) -> float:
        return sum(bool(getattr(r, attr)) for r in items) / len(items) if items else 0.0

    def summary(self, tags: dict[str, set[str]] | None = None, only_tag: str | None = None) -> dict[str, Any]:
        """Turn-level action accuracy, expected-action-and-answer accuracy, answer accuracy, by action."""
        items = [r for r in self.results if only_tag is None or only_tag in (tags or {}).get(r.dialogue, set())]
        answers = [r for r in items if r.expected_faq is not None]
        by_action = {
            action: {"n": n, "ok": round(self._rate([r for r in items if r.expected_action == action], "ok"), 4)}
            for action, n in sorted(Counter(r.expected_action for r in items).items())
        }
        # Answers the assistant did not give but put one tap away ("might be related" buttons on a fallback).
        missed = [r for r in answers if r.action == "fallback" and r.expected_action == "answer"]
        dialogues = {r.dialogue for r in items}
        perfect = sum(all(r.ok for r in items if r.dialogue == d) for d in dialogues)
        return {
            "turns": len(items),
            "dialogues": len(dialogues),
            "action_accuracy": round(self._rate(items, "action_ok"), 4),
            "turn_accuracy": round(self._rate(items, "ok"), 4),
            "answer_accuracy": round(self._rate(answers, "ok"), 4),
            "dialogues_all_correct": round(perfect / len(dialogues), 4) if dialogues else 0.0,
            "by_expected_action": by_action,
            "fallbacks_instead_of_answers": len(missed),
            "of_which_offered_as_button": sum(r.expected_faq in r.offered for r in missed),
        }


def load_dialogues(path: Path) -> list[dict[str, Any]]:
    """Parse the JSONL file, naming the line of any malformed dialogue."""
    dialogues = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            turns = item["turns"]
            well_formed = isinstance(turns, list) and bool(turns)
            well_formed = well_formed and all(
                (("user" in t) != ("quick_reply" in t)) and "action" in t["expect"] for t in turns
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise SystemExit(f"{path}:{number}: malformed dialogue ({exc!r})") from exc
        if not well_formed:
            raise SystemExit(f"{path}:{number}: each turn needs `user` or `quick_reply`, and `expect.action`")
        dialogues.append(item)
    return dialogues


def post_retrying(
    client: httpx.Client, path: str, body: dict[str, Any] | None = None, headers: dict[str, str] | None = None
) -> httpx.Response:
    """POST, waiting out a 429 as its Retry-After says (a server's rate limits are not what a replay measures)."""
    for _ in range(_RATE_LIMIT_RETRIES):
        response = client.post(path, json=body, headers=headers)
        if response.status_code != 429:
            break
        time.sleep(float(response.headers.get("Retry-After", "1")))
    response.raise_for_status()
    return response


def replay(base: str, dialogues: Sequence[dict[str, Any]], user_secret: str) -> Score:
    """Run every dialogue in a fresh conversation (one user per dialogue, with its tier)."""
    from assistant.auth import issue_user_token

    score = Score()
    with httpx.Client(base_url=base, timeout=60) as client:
        for dialogue in dialogues:
            tier = dialogue.get("user_tier", "free")
            user = issue_user_token(f"eval-{dialogue['id']}", user_secret, tier=tier)
            started = post_retrying(client, "/v1/conversations", headers={"Authorization": f"Bearer {user}"})
            conv = started.json()
            headers = {"Authorization": f"Bearer {conv['token']}"}
            for index, turn in enumerate(dialogue["turns"]):
                body = {"text": turn["user"]} if "user" in turn else {"quick_reply": turn["quick_reply"]}
                response = post_retrying(client, f"/v1/conversations/{conv['conversation_id']}/messages", body, headers)
                data = response.json()
                sources = data.get("sources") or []
                expect = turn["expect"]
                score.results.append(
                    TurnResult(
                        dialogue=dialogue["id"],
                        index=index,
                        text=turn.get("user") or f"[{turn.get('quick_reply')}]",
                        expected_action=expect["action"],
                        expected_faq=expect.get("faq_id"),
                        action=data["action"],
                        faq=sources[0]["id"] if sources and data["action"] == "answer" else None,
                        reply=((data.get("reply") or {}).get("text") or "")[:80],
                        offered=tuple(
                            q["payload"].removeprefix(FAQ_PAYLOAD_PREFIX)
                            for q in (data.get("reply") or {}).get("quick_replies") or []
                            if str(q.get("payload", "")).startswith(FAQ_PAYLOAD_PREFIX)
                        ),
                    )
                )
    return score


@contextmanager
def _own_server(args: argparse.Namespace, use_context: bool, data_dir: Path) -> Iterator[str]:
    from assistant.settings import Settings
    from evals.server import serve

    overrides: dict[str, Any] = {"data_dir": data_dir, "dialogue_context": use_context, "log_json": False}
    # Every replayed user comes from 127.0.0.1 at machine speed: the per-client limits are not under test here.
    overrides |= {"rate_limit_ip_per_minute": 1_000_000, "rate_limit_user_per_minute": 1_000_000}
    overrides["store_url"] = f"sqlite:///{data_dir / ('replay-ctx.db' if use_context else 'replay-noctx.db')}"
    for name, arg in (
        ("kb_path", "faq"),
        ("intents_path", "intents"),
        ("flows_path", "flows"),
        ("policy_path", "policy"),
    ):
        value = getattr(args, arg)
        if value is not None:
            overrides[name] = value
    with serve(Settings(**overrides)) as base:
        yield base


def _rows(runs: dict[str, dict[str, Any]], first: str) -> list[str]:
    lines = [f"| {first} | dialogues | turns | action acc. | turn acc. | answer acc. |", "|---|---|---|---|---|---|"]
    for name, s in runs.items():
        lines.append(
            f"| {name} | {s['dialogues']} | {s['turns']} | {s['action_accuracy']:.1%} | "
            f"{s['turn_accuracy']:.1%} | {s['answer_accuracy']:.1%} |"
        )
    return lines


def _markdown(
    runs: dict[str, dict[str, Any]], by_tag: dict[str, dict[str, Any]], failures: list[TurnResult], source: str
) -> str:
    lines = [f"# Dialogue replay: {source}", "", *_rows(runs, "run")]
    lines += ["", "Turn accuracy = the expected action and, for answers, the expected FAQ entry.", ""]
    for name, s in runs.items():
        if s.get("fallbacks_instead_of_answers"):
            lines.append(
                f"{name}: {s['fallbacks_instead_of_answers']} turns fell back where an answer was expected; "
                f"{s['of_which_offered_as_button']} of them offered the expected entry as a button."
            )
    lines.append("")
    if by_tag:
        lines += ["## By tag (with context)", "", *_rows(by_tag, "tag"), ""]
    if failures:
        lines += [
            "## Misses (with context)",
            "",
            "| dialogue | turn | user | expected | got |",
            "|---|---|---|---|---|",
        ]
        for r in failures:
            exp = r.expected_action + (f" {r.expected_faq}" if r.expected_faq else "")
            got = r.action + (f" {r.faq}" if r.faq else "")
            lines.append(f"| {r.dialogue} | {r.index + 1} | {r.text} | {exp} | {got} |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Replay and report; exit 0 (the report states the figures)."""
    parser = argparse.ArgumentParser(prog="python -m evals.dialogue_replay", description=__doc__)
    parser.add_argument("--dialogues", type=Path, default=DEFAULT_DIALOGUES)
    parser.add_argument("--faq", type=Path, help="FAQ file or folder (default: the demo FAQ)")
    parser.add_argument("--intents", type=Path, help="intent training CSV (default: the demo intents)")
    parser.add_argument("--flows", type=Path, help="flows YAML")
    parser.add_argument("--policy", type=Path, help="policy YAML")
    parser.add_argument("--data-dir", type=Path, help="reuse builds across runs (default: a temporary dir)")
    parser.add_argument("--url", help="replay against a running server instead of starting one")
    parser.add_argument("--user-secret", help="the server's ASSISTANT_USER_TOKEN_SECRET (with --url)")
    parser.add_argument("--compare-context", action="store_true", help="also run without context resolution")
    parser.add_argument("--out", type=Path, default=REPORTS / "dialogues", help="report prefix (.md and .json)")
    args = parser.parse_args(argv)
    from assistant.settings import DEV_USER_SECRET

    dialogues = load_dialogues(args.dialogues)
    tags = {d["id"]: set(d.get("tags", [])) for d in dialogues}
    secret = args.user_secret or DEV_USER_SECRET
    runs: dict[str, dict[str, Any]] = {}
    scores: dict[str, Score] = {}
    variants = [("with context", True)] + ([("without context", False)] if args.compare_context else [])
    with tempfile.TemporaryDirectory() if args.data_dir is None else nullcontext(str(args.data_dir)) as tmp:
        for name, use_context in variants:
            server = nullcontext(args.url) if args.url else _own_server(args, use_context, Path(tmp))
            with server as base:
                scores[name] = replay(base, dialogues, secret)
            runs[name] = scores[name].summary()
            runs[f"{name}, follow-up dialogues"] = scores[name].summary(tags, "followup")
    failures = [r for r in scores["with context"].results if not r.ok]
    all_tags = sorted({tag for values in tags.values() for tag in values})
    by_tag = {tag: scores["with context"].summary(tags, tag) for tag in all_tags}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    document = {"runs": runs, "by_tag": by_tag, "failures": [vars(f) for f in failures]}
    args.out.with_suffix(".json").write_text(
        json.dumps(document, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    report = _markdown(runs, by_tag, failures, str(args.dialogues))
    args.out.with_suffix(".md").write_text(report, encoding="utf-8")
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
