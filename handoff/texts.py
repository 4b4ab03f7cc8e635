"""What the user is told at each step of a handoff, in Chinese or English."""

from __future__ import annotations

import math


def _en(locale: str | None) -> bool:
    return bool(locale) and str(locale).lower().startswith("en")


def _minutes(seconds: float) -> int:
    return max(1, math.ceil(seconds / 60))


def queued_text(locale: str | None, position: int, eta_seconds: float) -> str:
    """Told when the conversation joins the live queue."""
    ahead, minutes = max(0, position - 1), _minutes(eta_seconds)
    if _en(locale):
        if ahead == 0:
            return f"Connecting you to a learning advisor. You are next in line (about {minutes} min)."
        people = "person" if ahead == 1 else "people"
        return (
            f"Connecting you to a learning advisor. There are {ahead} {people} ahead of you; "
            f"the estimated wait is about {minutes} min."
        )
    if ahead == 0:
        return f"已为您转接学习顾问，您是下一位，预计等待约 {minutes} 分钟，请稍候。"
    return f"已为您转接学习顾问，您前面还有 {ahead} 位，预计等待约 {minutes} 分钟，请稍候。"


def after_hours_text(locale: str | None, hours_label: str) -> str:
    """Told when nobody is on duty: the user may leave a message here."""
    if _en(locale):
        return (
            f"We are outside business hours ({hours_label}). Leave your message here and an advisor "
            "will reply in this conversation when they are back."
        )
    return f"现在是非工作时间（{hours_label}），您可以直接留言，顾问上班后会在这里回复您。"


def claimed_text(locale: str | None, agent_name: str) -> str:
    """Told when an advisor joins."""
    if _en(locale):
        return f"Advisor {agent_name} has joined the conversation."
    return f"学习顾问 {agent_name} 已接入，正在为您服务。"


def transferred_text(locale: str | None, agent_name: str) -> str:
    """Told when the conversation moves to another advisor."""
    if _en(locale):
        return f"You are now talking with advisor {agent_name}."
    return f"已为您转接至学习顾问 {agent_name}。"


def resolved_text(locale: str | None) -> str:
    """Told when the advisor closes the ticket; the widget then asks for a 1–5 rating."""
    if _en(locale):
        return (
            "The advisor has closed this conversation. Please rate the service from 1 to 5. "
            "You can keep asking me anything."
        )
    return "本次人工服务已结束，欢迎为顾问的服务打分（1–5 分）。如有其他问题，可以继续问我。"
