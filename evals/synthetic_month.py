"""A synthetic month of support traffic (events plus the few documents gap proposals need), and a benchmark.

    python -m evals.synthetic_month --conversations 10000 --store-url sqlite:///data/synthetic.db [--seed 7]
        [--start 2026-01-01] [--days 30] [--bench]

Built from the demo content: FAQ questions (demo/faq/faq.csv) answered with their intents (demo/intents.csv
labels), uncovered topics ending in fallbacks or handoffs (evals/data/synthetic_gap_topics.json, answered by
advisors), tiers free/member/vip, channels web/wechat/webhook, advisor response times around the SLAs, CSAT,
answer feedback and users returning within a day. Deterministic for a seed. `--bench` then times the summary
and the gap report over the generated month on that store.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import random
import sys
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from assistant import events as ev
from storage.ports import Store, StoredEvent

ROOT = Path(__file__).resolve().parent.parent
TZ = ZoneInfo("Asia/Shanghai")
SLA_SECONDS = {"vip": 300.0, "member": 900.0, "free": 3600.0}
# Median claim wait per tier, as a share of the SLA: most first replies land inside the promise, some do not.
CLAIM_MEDIAN = {"vip": 0.45, "member": 0.4, "free": 0.35}
TIERS = (("free", 0.72), ("member", 0.23), ("vip", 0.05))
CHANNELS = (("web", 0.55), ("wechat", 0.35), ("webhook", 0.10))
HOURS = [1, 0.5, 0.3, 0.2, 0.2, 0.4, 1, 2, 4, 6, 7, 7, 6, 6, 6, 6, 5, 5, 6, 7, 8, 8, 6, 3]  # Shanghai local
SCENARIOS = (("answer", 0.50), ("clarify", 0.08), ("smalltalk", 0.07), ("gap", 0.17), ("handoff", 0.18))
REASONS = (("explicit_request", 0.45), ("repeated_failure", 0.2), ("complaint", 0.12), ("negative_sentiment", 0.08),
           ("high_stakes_low_confidence", 0.15))  # fmt: skip
CATEGORY_INTENT = {
    "refund": "refund_request", "auto_renew": "auto_renew", "membership": "membership", "invoice": "invoice",
    "course": "course_validity", "playback": "playback_issue", "download": "download", "account": "account_login",
    "coupon": "coupon_payment", "payment": "coupon_payment", "privacy": "privacy_data", "advisor": "advisor_booking",
    "certificate": "certificate", "live_class": "live_class",
}  # fmt: skip
BATCH = 5000


def _desk_opens(at: float) -> float:
    """When advisors can first answer a handoff made at `at` (the desk is open 09:00-22:00 Shanghai time)."""
    local = datetime.fromtimestamp(at, TZ)
    if 9 <= local.hour < 22:
        return at
    day = local.date() + timedelta(days=1 if local.hour >= 22 else 0)
    return datetime.combine(day, datetime.min.time(), TZ).timestamp() + 9 * 3600


def _pick(rng: random.Random, weighted: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([k for k, _ in weighted], [w for _, w in weighted])[0]


@dataclass
class Content:
    """FAQ entries (id, question, intent) and the uncovered topics (texts, advisor answer)."""

    faqs: list[tuple[str, str, str | None]]
    topics: dict[str, tuple[list[str], str]]


def load_content(root: Path = ROOT) -> Content:
    """Read the demo FAQ, the intent labels and the pool of uncovered topics."""
    with (root / "demo/intents.csv").open(encoding="utf-8") as handle:
        intents = {row["intent"] for row in csv.DictReader(handle)}
    faqs = []
    with (root / "demo/faq/faq.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            intent = CATEGORY_INTENT.get(row["category"])
            faqs.append((row["id"], row["question"], intent if intent in intents else None))
    raw = json.loads((root / "evals/data/synthetic_gap_topics.json").read_text(encoding="utf-8"))
    topics = {k: (list(v["texts"]), str(v["answer"])) for k, v in raw.items() if not k.startswith("_")}
    return Content(faqs, topics)


@dataclass
class User:
    """A synthetic platform user."""

    id: str
    tier: str
    channel: str
    opt_out: bool


@dataclass
class Month:
    """What the generator writes: events, and tickets/messages of advisor-answered gaps."""

    events: list[StoredEvent] = field(default_factory=list)
    tickets: list[dict[str, Any]] = field(default_factory=list)
    conversations: int = 0


class Generator:
    """Generates conversations one by one; deterministic for a seed."""

    def __init__(self, content: Content, *, seed: int, start: date, days: int, users: int) -> None:
        self.rng = random.Random(seed)
        self.content = content
        self.start = datetime.combine(start, datetime.min.time(), TZ).timestamp()
        self.days = days
        self.users = [
            User(f"syn-u{i:05d}", _pick(self.rng, TIERS), _pick(self.rng, CHANNELS), self.rng.random() < 0.03)
            for i in range(users)
        ]
        self.month = Month()
        self.limit = 0  # conversations to generate; a planned return never goes past it
        self._seq = 0

    def _id(self, prefix: str) -> str:
        self._seq += 1
        return f"{prefix}{self._seq:07d}"

    def _when(self) -> float:
        day = self.rng.randrange(self.days)
        hour = self.rng.choices(range(24), HOURS)[0]
        return self.start + day * 86400 + hour * 3600 + self.rng.random() * 3600

    def _event(self, event_type: str, at: float, conv: str, user: User, /, **data: Any) -> None:
        payload = {"channel": user.channel, "tier": user.tier, **data}
        self.month.events.append(StoredEvent(event_type, at, conv, user.id, payload))

    def _turn(self, conv: str, user: User, at: float, action: str, *, intent: str | None = None,
              faq: str | None = None, text: str = "", reason: str | None = None) -> None:  # fmt: skip
        confidence = round(self.rng.uniform(0.75, 0.98) if action == "answer" else self.rng.uniform(0.2, 0.6), 4)
        self._event(ev.TURN, at, conv, user, action=action, intent=intent, confidence=confidence, faq_id=faq,
                    sources=[faq] if faq else [], follow_up=False, message_id=self._id("m"))  # fmt: skip
        if action in ("fallback", "handoff"):
            kind = ev.FALLBACK if action == "fallback" else ev.TURN_UNRESOLVED
            self._event(kind, at, conv, user, text=text, intent=intent, reason=reason, quick_reply=False)

    def conversation(
        self, user: User | None = None, at: float | None = None, repeat: tuple[str, Any] | None = None
    ) -> None:
        """One conversation (and, sometimes, the same user's return with the same question later)."""
        rng = self.rng
        # Skewed towards low indices: some users come back often, most only once or twice a month.
        user = user or self.users[int(len(self.users) * rng.random() ** 1.6)]
        at = self._when() if at is None else at
        conv = self._id("syn-c")
        self.month.conversations += 1
        self._event(ev.CONVERSATION_STARTED, at, conv, user)
        at += rng.uniform(5, 60)
        scenario = repeat[0] if repeat else _pick(rng, SCENARIOS)
        if scenario in ("answer", "clarify"):
            faq_id, _, intent = repeat[1] if repeat else rng.choice(self.content.faqs)
            if scenario == "clarify":
                self._turn(conv, user, at, "clarify", intent=intent)
                self._event(ev.CLARIFY_ASKED, at, conv, user, kind="slot")
                at += rng.uniform(10, 40)
                self._event(ev.CLARIFY_RESOLVED, at, conv, user, faq_id=faq_id)
            self._turn(conv, user, at, "answer", intent=intent, faq=faq_id)
            self._after_answer(conv, user, at, ("answer", (faq_id, "", intent)))
        elif scenario == "smalltalk":
            self._turn(conv, user, at, "smalltalk", intent="greeting")
        elif scenario == "gap":
            topic = repeat[1] if repeat else rng.choice(sorted(self.content.topics))
            texts, _ = self.content.topics[topic]
            self._turn(conv, user, at, "fallback", text=rng.choice(texts))
            if rng.random() < 0.35:  # asks again in other words, then gives up or asks for a person
                at += rng.uniform(15, 60)
                self._turn(conv, user, at, "fallback", text=rng.choice(texts))
                if rng.random() < 0.5:
                    self._handoff(conv, user, at + rng.uniform(10, 30), "repeated_failure", topic)
            elif not repeat and rng.random() < 0.08:
                self._schedule_return(user, at, ("gap", topic))
        else:
            reason = _pick(rng, REASONS)
            if reason == "high_stakes_low_confidence" and user.tier == "free":
                reason = "explicit_request"
            topic = rng.choice(sorted(self.content.topics)) if rng.random() < 0.4 else None
            if topic is not None:
                self._turn(conv, user, at, "fallback", text=rng.choice(self.content.topics[topic][0]))
                at += rng.uniform(10, 40)
            self._handoff(conv, user, at, reason, topic)

    def _after_answer(self, conv: str, user: User, at: float, question: tuple[str, Any]) -> None:
        rng = self.rng
        roll = rng.random()
        if roll < 0.2:
            self._turn(conv, user, at + rng.uniform(10, 40), "smalltalk", intent="thanks_goodbye")
            self._event(ev.RESOLUTION_CONFIRMED, at + 41, conv, user, via="thanks")
        elif roll < 0.32:
            rating = "up" if rng.random() < 0.8 else "down"
            message = self._id("m")
            self._event(ev.FEEDBACK, at + 30, conv, user, message_id=message, rating=rating, faq_id=question[1][0])
            if rating == "up":
                self._event(ev.RESOLUTION_CONFIRMED, at + 30, conv, user, via="feedback")
        elif roll < 0.39:
            self._schedule_return(user, at, question)

    def _schedule_return(self, user: User, at: float, question: tuple[str, Any]) -> None:
        later = at + self.rng.uniform(0.5, 20) * 3600
        if later < self.start + self.days * 86400 and self.month.conversations < self.limit:
            self.conversation(user, later, repeat=question)

    def _handoff(self, conv: str, user: User, at: float, reason: str, topic: str | None) -> None:
        rng = self.rng
        question = rng.choice(self.content.topics[topic][0]) if topic is not None else "转人工"
        intent = "human_agent" if topic is None else None
        self._turn(conv, user, at, "handoff", intent=intent, text=question, reason=reason)
        ticket = self._id("syn-t")
        opens = _desk_opens(at)
        budget = SLA_SECONDS[user.tier]
        deadline = opens + budget
        common = {"ticket_id": ticket}
        kind = "live" if opens == at else "message"
        self._event(ev.HANDOFF, at, conv, user, reason=reason, kind=kind, sla_deadline=deadline, **common)
        wait = rng.lognormvariate(math.log(CLAIM_MEDIAN[user.tier] * budget), 0.7)
        claimed = opens + wait
        replied = claimed + rng.uniform(20, 90)
        resolved = replied + rng.uniform(120, 1200)
        self._event(ev.AGENT_CLAIMED, claimed, conv, user, wait_seconds=round(claimed - at, 1), **common)
        self._event(ev.AGENT_FIRST_REPLY, replied, conv, user, seconds=round(replied - at, 1), **common)
        self._event(ev.TICKET_RESOLVED, resolved, conv, user, seconds=round(resolved - at, 1), **common)
        csat = None
        if rng.random() < 0.6:
            late = replied > deadline
            weights = [0.15, 0.15, 0.25, 0.25, 0.2] if late else [0.03, 0.04, 0.1, 0.28, 0.55]
            csat = rng.choices([1, 2, 3, 4, 5], weights)[0]
            self._event(ev.CSAT, resolved + rng.uniform(5, 120), conv, user, score=csat, **common)
        if topic is not None:
            self.month.tickets.append(
                {"id": ticket, "conversation_id": conv, "user": user, "created_at": at, "deadline": deadline,
                 "claimed_at": claimed, "replied_at": replied, "resolved_at": resolved, "reason": reason,
                 "csat": csat, "question": question, "answer": self.content.topics[topic][1]}
            )  # fmt: skip


def generate(content: Content, *, conversations: int, seed: int, start: date, days: int) -> Month:
    """A month with (about) `conversations` conversations, returns to earlier questions included."""
    generator = Generator(content, seed=seed, start=start, days=days, users=max(10, int(conversations * 0.6)))
    generator.limit = conversations
    while generator.month.conversations < conversations:
        generator.conversation()
    return generator.month


def write(store: Store, month: Month) -> None:
    """Store the events in batches, and the users, conversations, messages and tickets of answered gaps."""
    from assistant.conversations import Conversation, ConversationRepository, UserProfile
    from handoff.models import TICKET, Ticket, to_doc

    for i in range(0, len(month.events), BATCH):
        store.append_events(month.events[i : i + BATCH])
    repo = ConversationRepository(store)
    for t in month.tickets:
        user: User = t["user"]
        repo.save_user(UserProfile(user.id, user.tier, channel=user.channel, training_opt_out=user.opt_out))
        conv = Conversation(t["conversation_id"], user.id, user.channel, user.tier, created_at=t["created_at"],
                            updated_at=t["resolved_at"], ticket_id=t["id"], locale="zh")  # fmt: skip
        store.put("conversation", conv.id, conv.__dict__, owner=user.id)
        store.append_message(conv.id, "user", t["question"], at=t["created_at"] - 30)
        store.append_message(conv.id, "bot", "抱歉，这个问题我暂时没有找到答案。", {"action": "fallback"},
                             at=t["created_at"] - 29)  # fmt: skip
        store.append_message(conv.id, "agent", t["answer"], {"agent_name": "王老师", "ticket_id": t["id"]},
                             at=t["replied_at"])  # fmt: skip
        ticket = Ticket(
            id=t["id"], conversation_id=conv.id, user_id=user.id, tier=user.tier, channel=user.channel,
            reason=t["reason"], summary=t["question"], created_at=t["created_at"], sla_deadline=t["deadline"],
            status="resolved", locale="zh", preview=t["question"], assigned_to="alice", assigned_name="王老师",
            claimed_at=t["claimed_at"], first_reply_at=t["replied_at"], resolved_at=t["resolved_at"],
            resolved_by="alice", csat=t["csat"], packet={"unresolved_question": t["question"]},
        )  # fmt: skip
        store.put(TICKET, ticket.id, to_doc(ticket), owner=user.id)


def bench(store: Store, start: date, days: int, *, gaps: bool = True) -> dict[str, Any]:
    """Time the summary (3 runs) and the gap report over the month on this store."""
    import statistics

    from assistant.analytics import AnalyticsService, Period

    begin = datetime.combine(start, datetime.min.time(), TZ).timestamp()
    period = Period(begin, begin + days * 86400, "Asia/Shanghai")
    service = AnalyticsService(store, sla_minutes={k: v / 60 for k, v in SLA_SECONDS.items()})
    runs = []
    for _ in range(3):
        began = time.perf_counter()
        summary = service.summary(period)
        runs.append(time.perf_counter() - began)
    out: dict[str, Any] = {
        "conversations": summary.totals.conversations,
        "events_read": summary.events_read,
        "summary_seconds_first": round(runs[0], 3),  # a fresh process: imports and caches included
        "summary_seconds_warm_median": round(statistics.median(runs[1:]), 3),
        "containment": summary.totals.containment.rate,
        "sla_attainment": {t: m.sla.attainment for t, m in summary.by_tier.items()},
    }
    if gaps:
        from assistant.st_embedder import OnnxEmbedder

        embedder = OnnxEmbedder(cache_dir=ROOT / "data" / "models")
        embedder.warm_up()
        service.embedder = embedder
        service.gaps(period, limit=20)  # warm caches (jieba, synonyms) so the timing is the steady state
        began = time.perf_counter()
        report = service.gaps(period, limit=20)
        out |= {
            "gap_seconds": round(time.perf_counter() - began, 3),
            "gap_texts": report.texts,
            "gap_distinct_texts": report.distinct_texts,
            "gap_clusters_shown": len(report.clusters),
            "gap_proposals": sum(1 for c in report.clusters if c.proposal is not None),
        }
    return out


def main(argv: list[str] | None = None) -> int:
    """Generate the month into the store (and benchmark it with --bench)."""
    parser = argparse.ArgumentParser(prog="python -m evals.synthetic_month", description=__doc__.split("\n")[0])
    parser.add_argument("--conversations", type=int, default=10_000)
    parser.add_argument("--store-url", required=True, help="sqlite:///path.db or redis://host:port/db")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--start", type=date.fromisoformat, help="first day (default: `--days` days ago)")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--bench", action="store_true", help="time the summary and gap report afterwards")
    parser.add_argument("--no-gaps", action="store_true", help="with --bench: skip the gap report (no model)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/analytics_bench.json")
    args = parser.parse_args(argv)

    from storage.factory import open_store

    start = args.start or (datetime.now(TZ).date() - timedelta(days=args.days))
    began = time.perf_counter()
    month = generate(load_content(), conversations=args.conversations, seed=args.seed, start=start, days=args.days)
    generated = time.perf_counter() - began
    # Generated data can be regenerated: skip the per-commit fsync a real deployment needs.
    store = open_store(args.store_url, sqlite_synchronous="OFF")
    try:
        began = time.perf_counter()
        write(store, month)
        written = time.perf_counter() - began
        sys.stdout.write(
            f"{month.conversations} conversations, {len(month.events)} events, {len(month.tickets)} answered gaps "
            f"from {start} for {args.days} days: generated in {generated:.2f} s, written in {written:.2f} s\n"
        )
        if args.bench:
            result = {"store_url": args.store_url, "start": str(start), "days": args.days, "seed": args.seed,
                      **bench(store, start, args.days, gaps=not args.no_gaps)}  # fmt: skip
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
            sys.stdout.write(json.dumps(result, indent=2) + "\n")
    finally:
        store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
