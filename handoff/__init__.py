"""Human handoff: tickets with the handoff packet, a priority queue with SLAs, agents, the knowledge loop."""

from handoff.agents import AgentAccount, AgentDirectory
from handoff.hours import BusinessHours
from handoff.models import Candidate, Ticket
from handoff.service import HandoffService, Resolution

__all__ = [
    "AgentAccount",
    "AgentDirectory",
    "BusinessHours",
    "Candidate",
    "HandoffService",
    "Resolution",
    "Ticket",
]
