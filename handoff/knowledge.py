"""The knowledge loop: KB answers suggested to advisors; their answers become FAQ candidates admins publish."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

from assistant.conversations import ConversationRepository
from assistant.errors import AssistantError, Conflict, InvalidInput, NotFound, Unavailable
from handoff.models import CANDIDATE, Candidate, Ticket, candidate_from_doc, to_doc
from knowledge_base.models import FaqEntry
from storage.ports import Store

log = logging.getLogger(__name__)

# Writes the entries to the operator FAQ overlay, rebuilds and hot-reloads the index; returns the new version.
Publisher = Callable[[list[FaqEntry]], str]
# Searches the knowledge base: query -> [{"id", "question", "answer", "score"}], best first.
Suggest = Callable[[str], list[dict[str, Any]]]
MAX_QUESTION = 500
MAX_ANSWER = 5000
MAX_CATEGORY = 64


def require_text(value: str, name: str, limit: int) -> str:
    """The stripped text, or InvalidInput when it is empty or longer than `limit`."""
    text = value.strip()
    if not text:
        raise InvalidInput(f"{name} must not be empty")
    if len(text) > limit:
        raise InvalidInput(f"{name} must be at most {limit} characters")
    return text


class KnowledgeLoop:
    """FAQ candidates (documents of kind `kb_candidate`, owned by the user whose question it was)."""

    def __init__(
        self,
        store: Store,
        conversations: ConversationRepository,
        publish: Publisher | None = None,
        suggest: Suggest | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.conversations = conversations
        self.publisher = publish
        self.suggest = suggest
        self.clock = clock

    def propose(self, ticket: Ticket, *, question: str, answer: str, agent: str) -> Candidate | None:
        """A candidate from a resolved ticket; None if the user opted out of training or nothing was said."""
        user = self.conversations.get_user(ticket.user_id)
        if user is not None and user.training_opt_out:
            return None
        if not question.strip() or not answer.strip():
            return None
        now = self.clock()
        candidate = Candidate(
            id=uuid.uuid4().hex,
            ticket_id=ticket.id,
            conversation_id=ticket.conversation_id,
            user_id=ticket.user_id,
            question=question.strip()[:MAX_QUESTION],
            answer=answer.strip()[:MAX_ANSWER],
            created_by=agent,
            locale="en" if (ticket.locale or "").startswith("en") else "zh",
            created_at=now,
            updated_at=now,
        )
        self.store.put(CANDIDATE, candidate.id, to_doc(candidate), owner=ticket.user_id)
        return candidate

    def candidates(self, status: str | None = "pending") -> list[Candidate]:
        """Candidates (of one status, or all), oldest first."""
        docs = self.store.list(CANDIDATE, where={"status": status} if status else None)
        return sorted((candidate_from_doc(d) for d in docs), key=lambda c: c.created_at)

    def require(self, candidate_id: str) -> Candidate:
        """A candidate, or NotFound."""
        doc = self.store.get(CANDIDATE, candidate_id)
        if doc is None:
            raise NotFound("candidate not found")
        return candidate_from_doc(doc)

    def edit(
        self,
        candidate_id: str,
        *,
        question: str | None = None,
        answer: str | None = None,
        category: str | None = None,
    ) -> Candidate:
        """Change a pending candidate's question, answer or category."""
        changes: dict[str, Any] = {"updated_at": self.clock()}
        if question is not None:
            changes["question"] = require_text(question, "question", MAX_QUESTION)
        if answer is not None:
            changes["answer"] = require_text(answer, "answer", MAX_ANSWER)
        if category is not None:
            changes["category"] = category.strip()[:MAX_CATEGORY]
        doc = self.store.update_if(CANDIDATE, candidate_id, {"status": "pending"}, changes)
        if doc is None:
            self.require(candidate_id)
            raise Conflict("only pending candidates can be edited")
        return candidate_from_doc(doc)

    def publish(self, candidate_id: str, *, by: str) -> Candidate:
        """Hand the candidate to the knowledge base as an FAQ entry and record the new snapshot version."""
        if self.publisher is None:
            raise Unavailable("publishing to the knowledge base is not configured")
        # Reserve the candidate first so two admins clicking at once publish it once.
        doc = self.store.update_if(CANDIDATE, candidate_id, {"status": "pending"}, {"status": "publishing"})
        if doc is None:
            self.require(candidate_id)
            raise Conflict("this candidate is already published or being published")
        candidate = candidate_from_doc(doc)
        entry = FaqEntry(
            id=f"handoff-{candidate.id[:12]}",
            question=candidate.question,
            answer=candidate.answer,
            category=candidate.category,
            tags=("handoff",),
            locale=candidate.locale,
        )
        try:
            version = self.publisher([entry])
        except Exception as exc:
            self.store.update_if(CANDIDATE, candidate_id, {"status": "publishing"}, {"status": "pending"})
            if isinstance(exc, AssistantError):
                raise
            log.exception("publishing an FAQ candidate failed")
            raise Unavailable(f"the knowledge base could not publish the entry: {exc}") from exc
        changes = {
            "status": "published",
            "published_at": self.clock(),
            "published_by": by,
            "published_version": str(version),
            "faq_id": entry.id,
        }
        done = self.store.update_if(CANDIDATE, candidate_id, {}, changes)
        return candidate_from_doc(done) if done else candidate

    def suggestions(self, query: str, *, limit: int = 3) -> list[dict[str, Any]]:
        """The best FAQ answers to a user's message, for an advisor to insert and edit."""
        if self.suggest is None or not query.strip():
            return []
        return [
            {
                "id": str(item.get("id", "")),
                "question": str(item.get("question", "")),
                "answer": str(item.get("answer", "")),
                "score": float(item.get("score") or 0.0),
            }
            for item in self.suggest(query)[:limit]
        ]

    def delete(self, candidate_id: str) -> None:
        """Discard a candidate."""
        if not self.store.delete(CANDIDATE, candidate_id):
            raise NotFound("candidate not found")
