"""Light framing around an answer body: tier salutation, empathetic opening, a note when languages differ."""

from __future__ import annotations

from assistant.dialogue.messages import message
from assistant.dialogue.policy import AnswerStyle


def frame_answer(
    body: str,
    *,
    locale: str,
    tier: str,
    style: AnswerStyle,
    empathetic: bool = False,
    body_locale: str | None = None,
) -> str:
    """The reply text: salutation for the tier, an apology for complaints, then the answer body unchanged."""
    parts = [style.greeting_for(tier, locale)]
    if empathetic:
        parts.append(style.complaint_opening.get(locale))
    if body_locale and body_locale != locale:
        # The curated answer is kept word for word; the user is told why it is in the other language.
        parts.append(message("other_language", locale))
    parts.append(body.strip())
    return _join(parts, locale)


def _join(parts: list[str], locale: str) -> str:
    text = ""
    for part in (p for p in parts if p):
        if text and locale == "en" and not text.endswith((" ", "\n")):
            text += " "
        text += part
    return text
