"""The assistant's fixed bilingual texts (fallback, handoff, clarification, smalltalk), in one place."""

from __future__ import annotations

from assistant.dialogue.config import LocalizedText

_T = LocalizedText

MESSAGES: dict[str, LocalizedText] = {
    "fallback": _T(
        "抱歉，这个问题我暂时无法准确回答。您可以换个说法再问一次，或者转人工客服为您处理。",
        "Sorry, I can't answer that reliably. You could rephrase the question, or talk to a person.",
    ),
    "fallback_offline": _T(
        "抱歉，这个问题我暂时无法准确回答。您可以换个说法再问一次；人工客服服务时间为 {hours}，也可以转人工留言。",
        "Sorry, I can't answer that reliably. You could rephrase the question; our team is online {hours}"
        " and you can leave them a message.",
    ),
    "related": _T(
        "下面这些问题也许相关，点一下即可查看：",
        "These questions might be related; tap one to see its answer:",
    ),
    "talk_to_person": _T("转人工", "Talk to a person"),
    "handoff.explicit_request": _T("好的，正在为您转接人工客服。", "Sure, I'm connecting you with a person."),
    "handoff.repeated_failure": _T(
        "抱歉没能帮您解决问题，正在为您转接人工客服。",
        "Sorry I couldn't help with this. I'm connecting you with a person.",
    ),
    "handoff.negative_sentiment": _T(
        "非常抱歉给您带来不好的体验，正在为您转接人工客服。",
        "I'm sorry about this experience. I'm connecting you with a person.",
    ),
    "handoff.complaint": _T(
        "非常抱歉给您带来不好的体验，您的反馈很重要，正在为您转接人工客服处理。",
        "I'm sorry about this. Your feedback matters, so I'm connecting you with a person who can help.",
    ),
    "handoff.high_stakes_low_confidence": _T(
        "为确保准确处理您的问题，正在为您转接人工客服。",
        "To make sure this is handled correctly, I'm connecting you with a person.",
    ),
    "handoff.offline": _T(
        "当前不在人工服务时间（{hours}），请留下您的问题，客服上线后会尽快回复您。",
        "Our team is offline right now (hours: {hours}). Please leave a message and we'll reply as soon as we're back.",
    ),
    "disambiguation": _T("您是想问：", "Did you mean:"),
    "clarify_again": _T("抱歉，我没太明白。", "Sorry, I didn't quite get that. "),
    "other_language": _T("（以下为英文原文）", "(Our answer is in Chinese:) "),
    "greeting": _T("您好！我是智能客服助手，请问有什么可以帮您？", "Hello! I'm the support assistant. How can I help?"),
    "thanks": _T("不客气！还有其他问题随时问我。", "You're welcome! Ask me anytime if anything else comes up."),
    "goodbye": _T("再见，祝您学习愉快！", "Goodbye, and happy learning!"),
}


def message(name: str, locale: str, **values: str) -> str:
    """The fixed text `name` in `locale`, with `{placeholders}` filled from `values`."""
    text = MESSAGES[name].get(locale)
    return text.format(**values) if values else text
