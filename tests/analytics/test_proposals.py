"""Which advisor answer and which question a knowledge gap proposes as an FAQ entry."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from assistant.analytics.gaps import GapText
from assistant.analytics.proposals import ProposalFinder, propose_candidate
from assistant.conversations import ConversationRepository, UserProfile
from assistant.errors import Conflict, InvalidInput
from handoff.knowledge import KnowledgeLoop
from handoff.models import Ticket
from handoff.tickets import TicketRepository
from storage.sqlite import SqliteStore


@pytest.fixture
def store() -> Iterator[SqliteStore]:
    db = SqliteStore(":memory:")
    yield db
    db.close()


def _ticket(store: SqliteStore, tid: str, user: str, answer: str, *, csat: int | None, opt_out: bool = False,
            status: str = "resolved") -> None:  # fmt: skip
    repo = ConversationRepository(store)
    repo.save_user(UserProfile(user, training_opt_out=opt_out))
    conv = f"c-{tid}"
    store.append_message(conv, "user", "question")
    store.append_message(conv, "agent", answer, {"ticket_id": tid, "agent_name": "王老师"})
    store.append_message(conv, "agent", "another ticket's reply", {"ticket_id": "other"})
    ticket = Ticket(tid, conv, user, "free", "web", "repeated_failure", "", 1.0, 2.0, status=status,  # type: ignore[arg-type]
                    resolved_at=10.0 + csat if csat else 10.0, csat=csat, locale="zh")  # fmt: skip
    TicketRepository(store).create(ticket)


def _texts() -> list[GapText]:
    return [
        GapText("are there offline classes", count=2, users={"u-en"}, conversations={"c-t1"}),
        GapText("你们有线下课吗", count=1, users={"u-zh"}, conversations={"c-t2", "c-t3"}),
    ]


def test_the_best_rated_answer_of_a_user_who_allows_training_is_proposed_in_its_language(
    store: SqliteStore,
) -> None:
    _ticket(store, "t1", "u-en", "目前没有线下课。", csat=3)
    _ticket(store, "t2", "u-zh", "暂时没有线下课，所有课程都在App内学习。", csat=5)
    _ticket(store, "t3", "u-private", "私下的回答", csat=5, opt_out=True)
    resolved = {"c-t1": ["t1"], "c-t2": ["t2"], "c-t3": ["t3"]}
    proposal = ProposalFinder(store)(_texts(), resolved)
    assert proposal is not None
    assert (proposal.ticket_id, proposal.answer) == ("t2", "暂时没有线下课，所有课程都在App内学习。")
    assert proposal.question == "你们有线下课吗"  # the Chinese answer gets the Chinese question


def test_no_proposal_without_an_answered_ticket_or_when_every_asker_opted_out(store: SqliteStore) -> None:
    finder = ProposalFinder(store)
    assert finder(_texts(), {}) is None
    _ticket(store, "t1", "u-en", "答案", csat=4)
    ConversationRepository(store).save_user(UserProfile("u-zh", training_opt_out=True))
    ConversationRepository(store).save_user(UserProfile("u-en", training_opt_out=True))
    assert ProposalFinder(store)(_texts(), {"c-t1": ["t1"]}) is None


def test_proposing_needs_a_resolved_ticket_and_text_and_reuses_a_pending_candidate(store: SqliteStore) -> None:
    knowledge = KnowledgeLoop(store, ConversationRepository(store))
    _ticket(store, "open", "u1", "答案", csat=None, status="waiting")
    with pytest.raises(Conflict):
        propose_candidate(knowledge, "open", question="q", answer="a", by="boss")
    _ticket(store, "t1", "u1", "答案", csat=4)
    with pytest.raises(InvalidInput):
        propose_candidate(knowledge, "t1", question=" ", answer="a", by="boss")
    first = propose_candidate(knowledge, "t1", question="有线下课吗", answer="没有。", by="boss")
    again = propose_candidate(knowledge, "t1", question="有没有线下课", answer="没有。", by="boss")
    assert again.id == first.id
    assert again.question == "有没有线下课"
    assert TicketRepository(store).require("t1").candidate_id == first.id
    assert [c.id for c in knowledge.candidates()] == [first.id]
