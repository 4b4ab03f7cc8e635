"""FAQ entries proposed from knowledge gaps: a cluster's question with an advisor's answer from a resolved ticket.

Users who opted out of training never contribute: neither their question text nor their tickets' answers.
"""

from __future__ import annotations

from collections.abc import Sequence

from assistant.analytics.gaps import GapText
from assistant.analytics.models import Proposal
from assistant.conversations import ConversationRepository
from assistant.errors import Conflict, Forbidden, InvalidInput
from assistant.text import has_cjk
from handoff.knowledge import KnowledgeLoop
from handoff.models import CANDIDATE, Candidate, Ticket, candidate_from_doc
from handoff.tickets import TicketRepository
from storage.ports import Store

MAX_TICKETS_LOOKED_AT = 20  # per cluster: enough to find an answered one, bounded for huge clusters


class ProposalFinder:
    """Finds, for a gap cluster, the best advisor answer to propose as an FAQ entry."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.conversations = ConversationRepository(store)
        self.tickets = TicketRepository(store)
        self._opted_out: dict[str, bool] = {}

    def opted_out(self, user_id: str) -> bool:
        """True if the user asked that their conversations never train the assistant."""
        if user_id not in self._opted_out:
            user = self.conversations.get_user(user_id)
            self._opted_out[user_id] = bool(user is not None and user.training_opt_out)
        return self._opted_out[user_id]

    def agent_answer(self, ticket: Ticket) -> str:
        """What the advisors wrote to the user in this ticket."""
        messages = self.conversations.messages(ticket.conversation_id)
        return "\n".join(m.text for m in messages if m.role == "agent" and m.data.get("ticket_id") == ticket.id)

    def __call__(self, texts: Sequence[GapText], resolved: dict[str, list[str]]) -> Proposal | None:
        allowed = [t.text for t in texts if any(not self.opted_out(u) for u in t.users)]
        if not allowed:
            return None
        best: tuple[tuple[int, float], Ticket, str] | None = None
        seen: set[str] = set()
        for text in texts:
            for conversation_id in sorted(text.conversations):
                for ticket_id in resolved.get(conversation_id, ()):
                    if ticket_id in seen or len(seen) >= MAX_TICKETS_LOOKED_AT:
                        continue
                    seen.add(ticket_id)
                    ticket = self.tickets.get(ticket_id)
                    if ticket is None or ticket.is_open or self.opted_out(ticket.user_id):
                        continue
                    answer = self.agent_answer(ticket).strip()
                    if not answer:
                        continue
                    # The answer the user liked best wins; among equals, the most recent.
                    rank = (ticket.csat or 0, ticket.resolved_at or 0.0)
                    if best is None or rank > best[0]:
                        best = (rank, ticket, answer)
        if best is None:
            return None
        _, ticket, answer = best
        # The cluster's most central question in the answer's language (a Chinese answer to an English question
        # would read oddly as an FAQ entry), else the most central one.
        question = next((q for q in allowed if has_cjk(q) == has_cjk(answer)), allowed[0])
        candidate = self._candidate(ticket)
        return Proposal(
            ticket_id=ticket.id,
            question=candidate.question if candidate else question,
            answer=candidate.answer if candidate else answer,
            locale="en" if (ticket.locale or "").startswith("en") else "zh",
            candidate_id=candidate.id if candidate else None,
            candidate_status=candidate.status if candidate else None,
        )

    def _candidate(self, ticket: Ticket) -> Candidate | None:
        if not ticket.candidate_id:
            return None
        doc = self.store.get(CANDIDATE, ticket.candidate_id)
        return candidate_from_doc(doc) if doc else None


def propose_candidate(knowledge: KnowledgeLoop, ticket_id: str, *, question: str, answer: str, by: str) -> Candidate:
    """Create (or update the pending) FAQ candidate of a resolved ticket, for an admin to publish."""
    if not question.strip() or not answer.strip():
        raise InvalidInput("question and answer must not be empty")
    store = knowledge.store
    tickets = TicketRepository(store)
    ticket = tickets.require(ticket_id)
    if ticket.is_open:
        raise Conflict("the ticket is not resolved yet")
    if ticket.candidate_id:
        doc = store.get(CANDIDATE, ticket.candidate_id)
        if doc is not None:
            existing = candidate_from_doc(doc)
            if existing.status != "pending":
                return existing
            return knowledge.edit(existing.id, question=question, answer=answer)
    candidate = knowledge.propose(ticket, question=question, answer=answer, agent=by)
    if candidate is None:
        raise Forbidden("this user opted out of training: their conversation cannot become an FAQ entry")
    tickets.transition(ticket.id, {}, {"candidate_id": candidate.id})
    return candidate
