"""AnalyticsService: summaries and knowledge gaps of a period, read from a store's event log."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import replace

from assistant.analytics import gaps as gap_analysis
from assistant.analytics.metrics import SUMMARY_EVENTS, reading_window, summarize
from assistant.analytics.models import GapReport, Summary
from assistant.analytics.periods import Period, resolve_period
from assistant.analytics.proposals import ProposalFinder
from assistant.embedding import Embedder
from handoff.queue import DEFAULT_SLA_MINUTES
from storage.ports import Store, StoredEvent


class AnalyticsService:
    """Reads events of a period once and turns them into a Summary or a GapReport."""

    def __init__(
        self,
        store: Store,
        *,
        sla_minutes: Mapping[str, float] = DEFAULT_SLA_MINUTES,
        timezone: str = "Asia/Shanghai",
        embedder: Embedder | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.sla_minutes = dict(sla_minutes)
        self.timezone = timezone
        self.embedder = embedder
        self.clock = clock

    def period(self, start: str | None = None, end: str | None = None) -> Period:
        """The period named by `from`/`to` strings (default: the last 7 days) in the reporting timezone."""
        return resolve_period(start, end, timezone=self.timezone, now=self.clock())

    def summary(self, period: Period, *, channel: str | None = None, tier: str | None = None) -> Summary:
        """Containment, handoffs, first replies and SLA, CSAT and feedback of conversations started in `period`."""
        now = self.clock()
        low, high = reading_window(period)
        events = self.store.iter_events(low, min(high, now + 1.0), types=SUMMARY_EVENTS)
        return summarize(events, period, sla_minutes=self.sla_minutes, channel=channel, tier=tier, as_of=min(high, now))

    def _consented(self, events: Iterable[StoredEvent]) -> Iterator[StoredEvent]:
        """Drop the questions of users who opted out of their data being used to improve the assistant."""
        decided: dict[str, bool] = {}
        for event in events:
            user = event.user_id
            if user and user not in decided:
                profile = self.store.get("user", user)
                decided[user] = bool(profile and profile.get("training_opt_out"))
            if not (user and decided[user]):
                yield event

    def gaps(self, period: Period, *, limit: int = 20, examples: int = 5) -> GapReport:
        """The period's unanswered questions clustered by meaning, with FAQ proposals where advisors answered."""
        began = time.perf_counter()
        low, high = gap_analysis.reading_window(period)
        events = self.store.iter_events(low, min(high, self.clock() + 1.0), types=gap_analysis.GAP_EVENTS)
        found = gap_analysis.collect(self._consented(events), period)
        report = gap_analysis.build_report(
            found, period, self.embedder, propose=ProposalFinder(self.store), limit=limit, examples=examples
        )
        return replace(report, seconds=round(time.perf_counter() - began, 4))  # reading the events included
