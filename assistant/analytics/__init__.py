"""Support analytics: metrics of a period (containment, handoffs, SLA, CSAT) and knowledge gaps, from events."""

from assistant.analytics.metrics import OUTCOME_GRACE, SUMMARY_EVENTS, reading_window, summarize
from assistant.analytics.models import GapCluster, GapReport, SegmentMetrics, Summary
from assistant.analytics.periods import Period, resolve_period
from assistant.analytics.service import AnalyticsService

__all__ = [
    "OUTCOME_GRACE",
    "SUMMARY_EVENTS",
    "AnalyticsService",
    "GapCluster",
    "GapReport",
    "Period",
    "SegmentMetrics",
    "Summary",
    "reading_window",
    "resolve_period",
    "summarize",
]
