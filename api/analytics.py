"""The analytics API (admins): metrics of a period, knowledge gaps, and proposing a gap's answer as an FAQ entry."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from api.agents import AdminAgent
from assistant.analytics import AnalyticsService
from assistant.analytics.proposals import propose_candidate
from handoff.wiring import handoff_service

router = APIRouter(prefix="/v1/analytics", tags=["analytics"])
TIERS = ("vip", "member", "free")

From = Annotated[
    str | None,
    Query(alias="from", max_length=40, description="Start: ISO date (whole day) or datetime; default 6 days ago."),
]
To = Annotated[
    str | None, Query(max_length=40, description="End: ISO date (included) or datetime (excluded); default today.")
]


def analytics_of(request: Request) -> AnalyticsService:
    """The analytics service on the app's store, with the SLAs and timezone of its Settings."""
    runtime = request.app.state.runtime
    settings = runtime.settings
    return AnalyticsService(
        runtime.store,
        sla_minutes={tier: settings.sla_minutes(tier) for tier in TIERS},
        timezone=settings.timezone,
        embedder=runtime.embedder,
    )


Analytics = Annotated[AnalyticsService, Depends(analytics_of)]


class ProposalIn(BaseModel):
    """A gap's FAQ entry to propose from a resolved ticket (question and answer as the admin edited them)."""

    model_config = ConfigDict(extra="forbid")
    ticket_id: str = Field(min_length=1, max_length=64)
    question: str = Field(min_length=1, max_length=500)
    answer: str = Field(min_length=1, max_length=5000)


@router.get("/summary", summary="Support metrics of a period (admin)")
def summary(
    admin: AdminAgent,
    analytics: Analytics,
    start: From = None,
    to: To = None,
    channel: Annotated[str | None, Query(min_length=1, max_length=32, pattern=r"^[a-z0-9_-]+$")] = None,
    tier: Literal["vip", "member", "free"] | None = None,
) -> dict[str, Any]:
    """Conversations started in the period: containment (confirmed / assumed), handoffs and reasons, first reply
    times and SLA attainment per tier, CSAT, answer feedback, per channel, per tier and per day."""
    return analytics.summary(analytics.period(start, to), channel=channel, tier=tier).to_dict()


@router.get("/gaps", summary="Knowledge gaps of a period, clustered (admin)")
def gaps(
    admin: AdminAgent,
    analytics: Analytics,
    start: From = None,
    to: To = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> dict[str, Any]:
    """Questions that ended in a fallback or a handoff grouped by meaning, biggest first, each with examples and
    (where an advisor answered it) a proposed FAQ entry."""
    return analytics.gaps(analytics.period(start, to), limit=limit).to_dict()


@router.post("/gaps/proposals", status_code=201, summary="Propose a gap's answer as an FAQ candidate (admin)")
def propose(body: ProposalIn, admin: AdminAgent, request: Request) -> dict[str, Any]:
    """Create the `kb_candidate` (or update the ticket's pending one); publish it with
    `POST /v1/kb/candidates/{id}/publish`. 403 if the user opted out of training."""
    knowledge = handoff_service(request.app.state.runtime).knowledge
    candidate = propose_candidate(
        knowledge, body.ticket_id, question=body.question, answer=body.answer, by=admin.username
    )
    return asdict(candidate)
