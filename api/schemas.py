"""Request and response bodies of the chat API (they appear in the OpenAPI docs)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class StartConversation(BaseModel):
    """Optional body of `POST /v1/conversations`."""

    model_config = ConfigDict(extra="forbid")
    channel: Literal["web", "app"] = "web"
    locale: Literal["zh", "en"] | None = None


class ConversationCreated(BaseModel):
    """A new conversation and the token that authorises it."""

    conversation_id: str
    token: str
    user_id: str
    tier: str


class UserMessage(BaseModel):
    """A user turn: free text, or the payload of a quick reply the bot offered."""

    model_config = ConfigDict(extra="forbid")
    text: str | None = Field(None, description="What the user typed.")
    quick_reply: str | None = Field(None, max_length=200, description="Payload of a chosen quick reply.")

    @model_validator(mode="after")
    def _one_of(self) -> UserMessage:
        if (self.text is None) == (self.quick_reply is None):
            raise ValueError("send exactly one of `text` or `quick_reply`")
        return self


class QuickReply(BaseModel):
    """A button the user can press instead of typing."""

    title: str
    payload: str


class Reply(BaseModel):
    """What the assistant says back."""

    text: str
    quick_replies: list[QuickReply] = []


class IntentOut(BaseModel):
    """The recognised intent."""

    name: str
    confidence: float


class SourceOut(BaseModel):
    """An FAQ entry the answer comes from."""

    id: str
    score: float
    question: str = ""


class HandoffOut(BaseModel):
    """Escalation to a success advisor."""

    ticket_id: str
    reason: str
    queue_position: int
    eta_seconds: float | None = None
    agents_available: bool = True


class TurnResponse(BaseModel):
    """The assistant's decision for one user turn."""

    message_id: str
    action: Literal["answer", "clarify", "smalltalk", "fallback", "handoff", "relay"]
    reply: Reply | None
    intent: IntentOut | None = None
    sources: list[SourceOut] = []
    handoff: HandoffOut | None = None
    user_message: dict[str, object] | None = None
    bot_message: dict[str, object] | None = None


class Transcript(BaseModel):
    """A conversation's transcript in order."""

    conversation_id: str
    mode: str
    messages: list[dict[str, object]]


class Feedback(BaseModel):
    """Thumbs up or down on one answer."""

    model_config = ConfigDict(extra="forbid")
    message_id: str = Field(..., max_length=64)
    rating: Literal["up", "down"]


class Csat(BaseModel):
    """Satisfaction with the human help, 1 (bad) to 5 (great)."""

    model_config = ConfigDict(extra="forbid")
    score: int = Field(..., ge=1, le=5)
    comment: str | None = Field(None, max_length=500)
