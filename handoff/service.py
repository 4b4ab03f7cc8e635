"""HandoffService: escalation to a ticket, the advisors' actions on it, and the way back to the bot."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from assistant import events as ev
from assistant.auth import AgentIdentity
from assistant.conversations import CONVERSATION, Conversation, ConversationRepository, message_to_json
from assistant.errors import Conflict, Forbidden, InvalidInput, NotFound
from handoff import texts
from handoff.agents import AgentDirectory
from handoff.hours import BusinessHours
from handoff.knowledge import KnowledgeLoop, Publisher, Suggest, require_text
from handoff.models import STATUSES, Candidate, Ticket, TicketKind
from handoff.notify import ChannelDelivery, Emit, Notifier, ticket_payload
from handoff.packet import Summarizer, build_packet
from handoff.queue import DEFAULT_SLA_MINUTES, DEFAULT_WAIT_PER_POSITION, sla_deadline, ticket_view
from handoff.tickets import TicketRepository
from storage.ports import EventBus, Store, StoredMessage

log = logging.getLogger(__name__)

MAX_TEXT = 4000


@dataclass(frozen=True)
class Resolution:
    """A resolved ticket and its FAQ candidate (None when not asked for or the user opted out)."""

    ticket: Ticket
    candidate: Candidate | None


def _text(value: str) -> str:
    return require_text(value, "text", MAX_TEXT)


class HandoffService:
    """Everything the chat service and the agents' API do with tickets; stateless apart from its ports."""

    def __init__(
        self,
        store: Store,
        bus: EventBus,
        *,
        sla_minutes: Mapping[str, float] = DEFAULT_SLA_MINUTES,
        hours: BusinessHours | None = None,
        agents: AgentDirectory | None = None,
        summarizer: Summarizer | None = None,
        suggest: Suggest | None = None,
        publish: Publisher | None = None,
        clock: Callable[[], float] = time.time,
        default_wait_per_position: float = DEFAULT_WAIT_PER_POSITION,
        emit: Emit | None = None,
        delivery: ChannelDelivery | None = None,
    ) -> None:
        self.store = store
        self.conversations = ConversationRepository(store)
        self.tickets = TicketRepository(store)
        self.agents = agents or AgentDirectory(store)
        self.hours = hours or BusinessHours()
        self.sla_minutes = dict(sla_minutes)
        self.summarizer = summarizer
        self.clock = clock
        self.knowledge = KnowledgeLoop(store, self.conversations, publish, suggest, clock)
        self.notify = Notifier(
            bus,
            self.conversations,
            self.tickets,
            self.hours,
            default_wait_per_position,
            emit=emit,  # channels hook: outbound webhooks
            delivery=delivery,  # channels hook: advisor/system messages to WeChat and other non-web channels
        )

    # -- the user's side ------------------------------------------------------------------------------

    def is_business_hours(self, now: float | None = None) -> bool:
        """True while advisors are on duty (callers pass this as `agents_available`)."""
        return self.hours.is_open(self.clock() if now is None else now)

    def escalate(
        self,
        conversation: Conversation,
        *,
        reason: str,
        trail: Sequence[Mapping[str, Any]],
        agents_available: bool,
        now: float | None = None,
        messages: Sequence[StoredMessage] | None = None,
    ) -> Ticket:
        """Open a ticket with the handoff packet and queue the conversation (returns the open one if any).

        `messages`: the conversation's transcript when the caller has just read it (saves reading it again).
        """
        now = self.clock() if now is None else now
        existing = self._open_ticket_of(conversation.id)
        if existing is not None:
            return existing
        kind: TicketKind = "live" if agents_available else "message"
        if messages is None:
            messages = self.conversations.messages(conversation.id)
        user = self.conversations.get_user(conversation.user_id)
        packet = build_packet(conversation, user, messages, reason=reason, trail=trail, summarizer=self.summarizer)
        tier = packet["user"]["tier"]
        ticket = Ticket(
            id=uuid.uuid4().hex,
            conversation_id=conversation.id,
            user_id=conversation.user_id,
            tier=tier,
            channel=conversation.channel,
            reason=reason,
            summary=packet["summary"],
            created_at=now,
            sla_deadline=sla_deadline(tier, now, kind, self.sla_minutes, self.hours),
            kind=kind,
            user_name=packet["user"]["name"],
            locale=conversation.locale,
            packet=packet,
            preview=packet["unresolved_question"][:120],
            last_user_message_at=max((m.created_at for m in messages if m.role == "user"), default=None),
            history=[{"type": "created", "at": now, "reason": reason}],
        )
        self.tickets.create(ticket)
        winner = self._queue_conversation(conversation.id, ticket.id)
        if winner != ticket.id:
            self.tickets.discard(ticket.id)
            return self.tickets.require(winner)
        snapshot = self.notify.waiting(now)
        position, eta = next(((p, e) for t, p, e in snapshot if t.id == ticket.id), (len(snapshot) + 1, 0.0))
        ticket = (
            self.tickets.transition(ticket.id, {}, {"queue_position": position, "eta_seconds": round(eta)}) or ticket
        )
        if kind == "live":
            text = texts.queued_text(conversation.locale, ticket.queue_position, ticket.eta_seconds)
        else:
            text = texts.after_hours_text(conversation.locale, self.hours.describe(conversation.locale or "zh"))
        data = {
            "event": "handoff.created",
            "ticket_id": ticket.id,
            "reason": reason,
            "queue_position": ticket.queue_position,
            "eta_seconds": ticket.eta_seconds,
            "agents_available": agents_available,
        }
        self.notify.system_message(ticket, text, data)
        self.notify.ticket("ticket.created", ticket, now, position=position, eta=eta)
        self.notify.queue(now, snapshot)
        self.notify.event(ev.HANDOFF, ticket, now, reason=reason, kind=kind, sla_deadline=ticket.sla_deadline)
        self.notify.emit_event("handoff.created", ticket_payload(ticket))  # channels hook
        return ticket

    def on_user_message(self, conversation: Conversation, message: StoredMessage) -> None:
        """Publish a user message, to the advisors too while a ticket is open (call instead of publishing)."""
        ticket = self._open_ticket_of(conversation.id)  # re-read: the caller's copy may predate a handoff
        if ticket is None:
            self.notify.message(message, None)
            return
        self.notify.message(message, ticket.id)
        self.tickets.transition(
            ticket.id, {}, {"last_user_message_at": message.created_at, "preview": message.text[:120]}
        )

    def record_csat(self, conversation_id: str, score: int) -> Ticket:
        """Store the user's 1–5 rating on the conversation's latest resolved ticket."""
        if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
            raise InvalidInput("score must be an integer from 1 to 5")
        conversation = self.conversations.require(conversation_id)
        resolved = [t for t in self.tickets.of_conversation(conversation.user_id, conversation_id) if not t.is_open]
        if not resolved:
            raise NotFound("no resolved handoff to rate in this conversation")
        latest = max(resolved, key=lambda t: t.resolved_at or 0.0)
        if latest.csat == score:
            return latest
        now = self.clock()
        rated = self.tickets.transition(latest.id, {"csat": None}, {"csat": score, "csat_at": now})
        if rated is None:
            raise Conflict("this handoff has already been rated")
        self.notify.ticket("ticket.rated", rated, now)
        return rated

    # -- the advisors' side ---------------------------------------------------------------------------

    def list_tickets(self, status: str = "waiting", *, limit: int = 100) -> list[dict[str, Any]]:
        """Tickets of a status as console views; waiting ones in queue order with positions and SLA."""
        if status not in STATUSES:
            raise InvalidInput(f"status must be one of {', '.join(STATUSES)}")
        now = self.clock()
        if status == "waiting":
            return [ticket_view(t, now, position=p, eta=e) for t, p, e in self.notify.waiting_page(now, limit)]
        if status == "assigned":
            return [ticket_view(t, now) for t in self.tickets.assigned(limit=limit)]
        return [ticket_view(t, now) for t in self.tickets.resolved(limit=limit)]

    def detail(self, ticket_id: str) -> dict[str, Any]:
        """Everything about a ticket for the console: view, packet, live transcript, notes, history."""
        ticket = self.tickets.require(ticket_id)
        now = self.clock()
        position, eta = self.notify.position_of(ticket_id, now) if ticket.status == "waiting" else (None, None)
        transcript = [message_to_json(m) for m in self.conversations.messages(ticket.conversation_id)]
        return {
            **ticket_view(ticket, now, position=position, eta=eta),
            "packet": ticket.packet,
            "transcript": transcript,
            "notes": ticket.notes,
            "history": ticket.history,
            "resolution_note": ticket.resolution_note,
            "candidate_id": ticket.candidate_id,
        }

    def claim(self, ticket_id: str, agent: AgentIdentity) -> Ticket:
        """Take a waiting ticket; of concurrent claims exactly one wins, the others get Conflict."""
        account = self.agents.require(agent.username)
        now = self.clock()
        changes = {
            "status": "assigned",
            "assigned_to": account.username,
            "assigned_name": account.name,
            "claimed_at": now,
        }
        ticket = self.tickets.transition(ticket_id, {"status": "waiting"}, changes)
        if ticket is None:
            self.tickets.require(ticket_id)
            raise Conflict("this ticket has already been claimed")
        self.tickets.append_to(ticket_id, "history", {"type": "claimed", "at": now, "by": account.username})
        self._set_mode(ticket, "human")
        data = {"event": "handoff.claimed", "ticket_id": ticket.id, "agent_name": account.name}
        self.notify.system_message(ticket, texts.claimed_text(ticket.locale, account.name), data)
        if ticket.kind == "live":
            self.tickets.record_wait(now - ticket.created_at)
        self.notify.ticket("ticket.claimed", ticket, now)
        self.notify.queue(now)
        self.notify.event(ev.AGENT_CLAIMED, ticket, now, wait_seconds=round(now - ticket.created_at, 1))
        return ticket

    def reply(self, ticket_id: str, agent: AgentIdentity, text: str) -> StoredMessage:
        """Send the user a message from the assigned advisor."""
        body = _text(text)
        ticket = self._assigned_to(ticket_id, agent)
        account = self.agents.require(agent.username)
        self.notify.check_channel(ticket.conversation_id)  # channels hook: e.g. WeChat's 48-hour window (409)
        data = {"agent_name": account.name, "ticket_id": ticket.id}
        message = self.conversations.append(ticket.conversation_id, "agent", body, data, only_if_mode="human")
        if message is None:
            raise Conflict("the conversation is no longer with an advisor")
        self.notify.message(message, ticket.id)
        self.notify.outbound(message)  # channels hook: webhooks and non-web delivery
        now = self.clock()
        first = self.tickets.transition(ticket.id, {"first_reply_at": None}, {"first_reply_at": now})
        self.tickets.transition(ticket.id, {}, {"last_agent_message_at": now})
        if first is not None:
            self.notify.event(ev.AGENT_FIRST_REPLY, first, now, seconds=round(now - first.created_at, 1))
        return message

    def add_note(self, ticket_id: str, agent: AgentIdentity, text: str) -> dict[str, Any]:
        """Add an internal note (visible to advisors only, never to the user)."""
        note = {
            "id": uuid.uuid4().hex[:12],
            "author": agent.username,
            "text": _text(text),
            "at": self.clock(),
        }
        ticket = self.tickets.append_to(ticket_id, "notes", note)
        self.notify.ticket("ticket.note", ticket, self.clock())
        return note

    def transfer(self, ticket_id: str, agent: AgentIdentity, to: str) -> Ticket:
        """Hand an assigned ticket to another advisor (the assignee or an admin may do this)."""
        ticket = self._assigned_to(ticket_id, agent, admin_ok=True)
        target = self.agents.get(to)
        if target is None or not target.active:
            raise NotFound(f"no active agent {to!r}")
        if target.username == ticket.assigned_to:
            raise Conflict("the ticket is already assigned to that agent")
        now = self.clock()
        moved = self.tickets.transition(
            ticket_id,
            {"status": "assigned", "assigned_to": ticket.assigned_to},
            {"assigned_to": target.username, "assigned_name": target.name},
        )
        if moved is None:
            raise Conflict("the ticket changed meanwhile; reload it")
        entry = {
            "type": "transferred",
            "at": now,
            "by": agent.username,
            "from": ticket.assigned_to,
            "to": target.username,
        }
        moved = self.tickets.append_to(ticket_id, "history", entry)
        data = {"event": "handoff.transferred", "ticket_id": ticket_id, "agent_name": target.name}
        self.notify.system_message(moved, texts.transferred_text(moved.locale, target.name), data)
        self.notify.ticket("ticket.transferred", moved, now)
        return moved

    def resolve(
        self,
        ticket_id: str,
        agent: AgentIdentity,
        *,
        note: str = "",
        add_to_kb: bool = False,
        kb_question: str | None = None,
        kb_answer: str | None = None,
    ) -> Resolution:
        """Close the ticket, give the conversation back to the bot and optionally propose an FAQ entry."""
        ticket = self._assigned_to(ticket_id, agent, admin_ok=True)
        now = self.clock()
        changes = {
            "status": "resolved",
            "resolved_at": now,
            "resolved_by": agent.username,
            "resolution_note": note.strip(),
        }
        done = self.tickets.transition(ticket_id, {"status": "assigned", "assigned_to": ticket.assigned_to}, changes)
        if done is None:
            raise Conflict("the ticket changed meanwhile; reload it")
        done = self.tickets.append_to(ticket_id, "history", {"type": "resolved", "at": now, "by": agent.username})
        self._set_mode(done, "bot")
        candidate = None
        if add_to_kb:
            question = kb_question if kb_question is not None else done.packet.get("unresolved_question", "")
            answer = kb_answer if kb_answer is not None else self._agent_answer(done)
            candidate = self.knowledge.propose(done, question=question, answer=answer, agent=agent.username)
            if candidate is not None:
                done = self.tickets.transition(ticket_id, {}, {"candidate_id": candidate.id}) or done
        data = {"event": "handoff.resolved", "ticket_id": ticket_id, "csat": True}
        self.notify.system_message(done, texts.resolved_text(done.locale), data)
        self.notify.ticket("ticket.resolved", done, now)
        self.notify.queue(now)
        self.notify.event(ev.TICKET_RESOLVED, done, now, seconds=round(now - done.created_at, 1))
        self.notify.emit_event("handoff.resolved", {**ticket_payload(done), "resolved_by": done.resolved_by})
        return Resolution(done, candidate)

    def typing(self, ticket_id: str, agent: AgentIdentity, active: bool = True) -> None:
        """Show or hide "the advisor is typing" in the user's widget."""
        ticket = self._assigned_to(ticket_id, agent)
        self.notify.typing(ticket.conversation_id, active)

    def suggestions(self, ticket_id: str, *, limit: int = 3) -> list[dict[str, Any]]:
        """Best knowledge-base answers to the user's latest message ([] without a knowledge base)."""
        ticket = self.tickets.require(ticket_id)
        users = [m for m in self.conversations.messages(ticket.conversation_id) if m.role == "user"]
        query = users[-1].text if users else str(ticket.packet.get("unresolved_question", ""))
        return self.knowledge.suggestions(query, limit=limit)

    # -- helpers ----------------------------------------------------------------------------------------

    def _open_ticket_of(self, conversation_id: str, conversation: Conversation | None = None) -> Ticket | None:
        current = conversation or self.conversations.get(conversation_id)
        if current is None or not current.ticket_id:
            return None
        ticket = self.tickets.get(current.ticket_id)
        return ticket if ticket is not None and ticket.is_open else None

    def _queue_conversation(self, conversation_id: str, ticket_id: str) -> str:
        """Atomically point the conversation at the new ticket, `queued`; returns the winning ticket id."""
        for _ in range(10):
            current = self.conversations.require(conversation_id)
            existing = self._open_ticket_of(conversation_id, current)
            if existing is not None:
                return existing.id
            # Expecting the exact mode and ticket we saw makes a concurrent escalation or claim lose the race;
            # from `bot` this is ConversationRepository.switch_mode, and it also repairs a stale ticket link.
            expected = {"mode": current.mode, "ticket_id": current.ticket_id}
            changes = {"mode": "queued", "ticket_id": ticket_id, "updated_at": self.clock()}
            if self.store.update_if(CONVERSATION, conversation_id, expected, changes) is not None:
                return ticket_id
        raise Conflict("the conversation is changing too fast; try again")

    def _set_mode(self, ticket: Ticket, mode: str) -> None:
        # Only while the conversation still belongs to this ticket: a later ticket is never overridden.
        changes = {"mode": mode, "updated_at": self.clock()}
        if self.store.update_if(CONVERSATION, ticket.conversation_id, {"ticket_id": ticket.id}, changes) is None:
            log.warning("conversation %s no longer points at ticket %s", ticket.conversation_id, ticket.id)

    def _assigned_to(self, ticket_id: str, agent: AgentIdentity, *, admin_ok: bool = False) -> Ticket:
        ticket = self.tickets.require(ticket_id)
        if ticket.status != "assigned":
            raise Conflict(f"the ticket is {ticket.status}, not assigned")
        if ticket.assigned_to != agent.username and not (admin_ok and agent.is_admin):
            raise Forbidden("this ticket is assigned to another agent")
        return ticket

    def _agent_answer(self, ticket: Ticket) -> str:
        replies = [
            m.text
            for m in self.conversations.messages(ticket.conversation_id)
            if m.role == "agent" and m.data.get("ticket_id") == ticket.id
        ]
        return "\n".join(replies)
