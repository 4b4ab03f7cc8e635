"""The user's own data rights, authorised by their platform JWT: export, erasure, training preferences."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from api.limits import ip_limit
from api.privacy import CurrentUser, Privacy
from assistant.privacy import Actor

router = APIRouter(prefix="/v1/me", tags=["privacy"], dependencies=[Depends(ip_limit("me"))])


class Preferences(BaseModel):
    """Privacy preferences."""

    model_config = ConfigDict(extra="forbid")
    training_opt_out: bool = Field(
        description="True: my messages never go into training or evaluation exports or FAQ candidates."
    )


@router.get("/data", summary="Export everything the assistant stores about me")
async def export_my_data(user: CurrentUser, privacy: Privacy) -> dict[str, Any]:
    """Profile, preferences, conversations with every message, tickets (with advisors' notes), events."""
    return await run_in_threadpool(privacy.export, user.id, Actor.self_service())


@router.delete("/data", summary="Erase everything the assistant stores about me")
async def erase_my_data(user: CurrentUser, privacy: Privacy) -> dict[str, Any]:
    """Removes the user from every store; open tickets leave the advisors' queue. Returns what was removed."""
    report = await run_in_threadpool(privacy.erase, user.id, Actor.self_service())
    return {"erased": report.to_dict()}


@router.get("/preferences", summary="My privacy preferences")
async def get_my_preferences(user: CurrentUser, privacy: Privacy) -> Preferences:
    """Whether my messages may be used for training."""
    return Preferences.model_validate(await run_in_threadpool(privacy.preferences, user.id))


@router.put("/preferences", summary="Change my privacy preferences")
async def put_my_preferences(body: Preferences, user: CurrentUser, privacy: Privacy) -> Preferences:
    """`training_opt_out: true` keeps my messages out of training and evaluation exports and FAQ candidates."""
    saved = await run_in_threadpool(
        privacy.set_preferences,
        user.id,
        Actor.self_service(),
        training_opt_out=body.training_opt_out,
        identity=user,
    )
    return Preferences.model_validate(saved)
