"""Admins acting on a user's data rights for requests made through support, the audit log, the training export."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict

from api.agents import AdminAgent
from api.privacy import Privacy
from assistant.auth import AgentIdentity
from assistant.errors import NotFound
from assistant.privacy import Actor, has_data

router = APIRouter(prefix="/v1/admin", tags=["privacy admin"])
UserId = Annotated[str, Path(min_length=1, max_length=128, description="The platform's user id.")]
Reference = Annotated[
    str,
    Query(
        max_length=64,
        pattern=r"^[A-Za-z0-9_.:-]*$",
        description="The support request this answers (e.g. a ticket number), kept in the audit log.",
    ),
]
AuditAction = Literal["data.export", "data.erase", "preferences.update", "training.export", "retention.purge"]


class AdminPreferences(BaseModel):
    """Privacy preferences set on a user's behalf."""

    model_config = ConfigDict(extra="forbid")
    training_opt_out: bool


def _actor(admin: AgentIdentity) -> Actor:
    return Actor(admin.username, "admin")


@router.get("/users/{user_id}/data", summary="Export a user's data (admin, for a support request)")
async def export_user_data(user_id: UserId, admin: AdminAgent, privacy: Privacy, reference: Reference = "") -> Any:
    """The same export the user gets from `GET /v1/me/data`; 404 when nothing is stored about the user."""
    data = await run_in_threadpool(privacy.export, user_id, _actor(admin), reference=reference)
    if not has_data(data):
        raise NotFound("nothing is stored about this user")
    return data


@router.delete("/users/{user_id}/data", summary="Erase a user's data (admin, for a support request)")
async def erase_user_data(
    user_id: UserId, admin: AdminAgent, privacy: Privacy, reference: Reference = ""
) -> dict[str, Any]:
    """Removes the user from every store; 404 when nothing was stored (already erased, or a wrong id)."""
    report = await run_in_threadpool(privacy.erase, user_id, _actor(admin), reference=reference)
    if report.empty:
        raise NotFound("nothing is stored about this user")
    return {"erased": report.to_dict()}


@router.put("/users/{user_id}/preferences", summary="Set a user's privacy preferences (admin)")
async def put_user_preferences(
    user_id: UserId, body: AdminPreferences, admin: AdminAgent, privacy: Privacy, reference: Reference = ""
) -> AdminPreferences:
    """404 unless the user has talked to the assistant (a typo must not create a profile)."""
    saved = await run_in_threadpool(
        privacy.set_preferences, user_id, _actor(admin), training_opt_out=body.training_opt_out, reference=reference
    )
    return AdminPreferences.model_validate(saved)


@router.get("/audit", summary="The privacy audit log (admin)")
async def audit_log(
    admin: AdminAgent,
    privacy: Privacy,
    user_id: Annotated[str | None, Query(min_length=1, max_length=128, description="Entries about this user.")] = None,
    action: AuditAction | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Who asked for which export, erasure or preference change, when; users appear as pseudonyms."""
    entries = await run_in_threadpool(privacy.audit_entries, user_id=user_id, action=action, limit=limit)
    return {"entries": entries}


@router.get("/exports/training", summary="User texts with intents and FAQ ids, for retraining (admin)")
async def training_export(
    admin: AdminAgent, privacy: Privacy, limit: Annotated[int, Query(ge=1, le=100_000)] = 10_000
) -> dict[str, Any]:
    """Typed user messages with the intent and FAQ the bot matched; opted-out users are left out, PII redacted."""
    exported = await run_in_threadpool(privacy.training_export, _actor(admin), limit=limit)
    return exported.to_dict()
