"""The advisors' API: the ticket queue and every action on a ticket, and the admins' FAQ-candidate review."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from api.agents import AdminAgent, CurrentAgent, Service
from assistant.conversations import message_to_json
from handoff.queue import ticket_view
from handoff.wiring import build_handoff_service

__all__ = ["build_handoff_service", "candidates_router", "router"]

router = APIRouter(prefix="/v1/handoff", tags=["handoff"])
candidates_router = APIRouter(prefix="/v1/kb/candidates", tags=["knowledge loop"])
TicketId = Annotated[str, Path(min_length=1, max_length=64)]
MAX_TEXT = 4000


class TextIn(BaseModel):
    """A reply to the user or an internal note."""

    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=MAX_TEXT)


class TransferIn(BaseModel):
    """Who takes the ticket over."""

    model_config = ConfigDict(extra="forbid")
    to: str = Field(min_length=1, max_length=64)


class ResolveIn(BaseModel):
    """How the ticket ends; `add_to_kb` proposes the answer as an FAQ entry (question and answer editable)."""

    model_config = ConfigDict(extra="forbid")
    note: str = Field("", max_length=MAX_TEXT)
    add_to_kb: bool = False
    kb_question: str | None = Field(None, max_length=500)
    kb_answer: str | None = Field(None, max_length=5000)


class TypingIn(BaseModel):
    """Show or hide the typing indicator."""

    model_config = ConfigDict(extra="forbid")
    active: bool = True


class CandidateEdit(BaseModel):
    """Changes an admin makes to a candidate before publishing."""

    model_config = ConfigDict(extra="forbid")
    question: str | None = Field(None, max_length=500)
    answer: str | None = Field(None, max_length=5000)
    category: str | None = Field(None, max_length=64)


@router.get("/tickets", summary="Tickets by status (waiting ones in queue order, with SLA)")
def list_tickets(
    agent: CurrentAgent,
    service: Service,
    status: Literal["waiting", "assigned", "resolved"] = "waiting",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    """The queue, the tickets being worked on, or recently resolved ones."""
    return {"tickets": service.list_tickets(status, limit=limit)}


@router.get("/tickets/{ticket_id}", summary="A ticket with its packet and live transcript")
def get_ticket(ticket_id: TicketId, agent: CurrentAgent, service: Service) -> dict[str, Any]:
    """Everything an advisor needs to take over."""
    return service.detail(ticket_id)


@router.post("/tickets/{ticket_id}/claim", summary="Take a waiting ticket (409 if someone was faster)")
def claim(ticket_id: TicketId, agent: CurrentAgent, service: Service) -> dict[str, Any]:
    """Assign the ticket to the caller; the user is told an advisor joined."""
    service.claim(ticket_id, agent)
    return service.detail(ticket_id)


@router.post("/tickets/{ticket_id}/messages", status_code=201, summary="Reply to the user")
def reply(ticket_id: TicketId, body: TextIn, agent: CurrentAgent, service: Service) -> dict[str, Any]:
    """Append an advisor message to the conversation (assigned advisor only)."""
    return message_to_json(service.reply(ticket_id, agent, body.text))


@router.post("/tickets/{ticket_id}/notes", status_code=201, summary="Add an internal note")
def add_note(ticket_id: TicketId, body: TextIn, agent: CurrentAgent, service: Service) -> dict[str, Any]:
    """A note only advisors see."""
    return service.add_note(ticket_id, agent, body.text)


@router.post("/tickets/{ticket_id}/transfer", summary="Hand the ticket to another advisor")
def transfer(ticket_id: TicketId, body: TransferIn, agent: CurrentAgent, service: Service) -> dict[str, Any]:
    """Reassign (the current assignee or an admin)."""
    return ticket_view(service.transfer(ticket_id, agent, body.to), service.clock())


@router.post("/tickets/{ticket_id}/resolve", summary="Close the ticket; the bot takes the conversation back")
def resolve(ticket_id: TicketId, body: ResolveIn, agent: CurrentAgent, service: Service) -> dict[str, Any]:
    """Resolve, and optionally propose the answer for the knowledge base."""
    outcome = service.resolve(
        ticket_id,
        agent,
        note=body.note,
        add_to_kb=body.add_to_kb,
        kb_question=body.kb_question,
        kb_answer=body.kb_answer,
    )
    candidate = asdict(outcome.candidate) if outcome.candidate else None
    return {"ticket": ticket_view(outcome.ticket, service.clock()), "candidate": candidate}


@router.post("/tickets/{ticket_id}/typing", status_code=204, summary="Typing indicator for the user")
def typing(ticket_id: TicketId, agent: CurrentAgent, service: Service, body: TypingIn | None = None) -> Response:
    """Show (or hide with `active: false`) "the advisor is typing"."""
    service.typing(ticket_id, agent, body.active if body else True)
    return Response(status_code=204)


@router.get("/tickets/{ticket_id}/suggestions", summary="Knowledge-base answers to the user's latest message")
def suggestions(ticket_id: TicketId, agent: CurrentAgent, service: Service) -> dict[str, Any]:
    """Best FAQ answers the advisor can insert and edit."""
    return {"suggestions": service.suggestions(ticket_id)}


@candidates_router.get("", summary="FAQ candidates from resolved tickets (admin)")
def list_candidates(
    admin: AdminAgent,
    service: Service,
    status: Literal["pending", "published", "all"] = "pending",
) -> dict[str, Any]:
    """Candidates waiting for review (or all)."""
    found = service.knowledge.candidates(None if status == "all" else status)
    return {"candidates": [asdict(c) for c in found]}


@candidates_router.put("/{candidate_id}", summary="Edit a candidate (admin)")
def edit_candidate(candidate_id: TicketId, body: CandidateEdit, admin: AdminAgent, service: Service) -> dict[str, Any]:
    """Change the question, answer or category before publishing."""
    candidate = service.knowledge.edit(candidate_id, question=body.question, answer=body.answer, category=body.category)
    return asdict(candidate)


@candidates_router.post("/{candidate_id}/publish", summary="Publish a candidate to the knowledge base (admin)")
def publish_candidate(candidate_id: TicketId, admin: AdminAgent, service: Service) -> dict[str, Any]:
    """Write it to the operator FAQ overlay and hot-reload the index; returns the snapshot version."""
    return asdict(service.knowledge.publish(candidate_id, by=admin.username))


@candidates_router.delete("/{candidate_id}", status_code=204, summary="Discard a candidate (admin)")
def delete_candidate(candidate_id: TicketId, admin: AdminAgent, service: Service) -> Response:
    """Remove it without publishing."""
    service.knowledge.delete(candidate_id)
    return Response(status_code=204)
