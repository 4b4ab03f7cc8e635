"""Choosing the answer body: the curated FAQ answer, or a writer's draft when it is verifiably grounded."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from assistant.dialogue.grounding import check_draft
from assistant.dialogue.ports import AnswerRequest, AnswerWriter
from knowledge_base.models import FaqEntry

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AnswerBody:
    """The text to show, the FAQ ids it rests on, who wrote it and why a draft was dropped (if one was)."""

    text: str
    cited: tuple[str, ...]
    writer: str  # "curated" or "llm"
    note: str | None = None


def answer_body(writer: AnswerWriter | None, request: AnswerRequest, curated: FaqEntry) -> AnswerBody:
    """The writer's draft if it passes the grounding check, else the curated answer of `curated`."""
    fallback = AnswerBody(curated.answer, (curated.id,), "curated")
    if writer is None:
        return fallback
    try:
        draft = writer.write(request)
    except Exception as exc:  # any writer failure (timeout, HTTP, parsing) must not cost the user an answer
        logger.warning("answer writer failed, using the curated answer: %s", type(exc).__name__)
        return AnswerBody(fallback.text, fallback.cited, "curated", f"writer_error:{type(exc).__name__}")
    reason = check_draft(draft, request)
    if reason is not None:
        logger.info("answer draft rejected (%s), using the curated answer", reason)
        return AnswerBody(fallback.text, fallback.cited, "curated", f"writer_rejected:{reason}")
    return AnswerBody(draft.text.strip(), tuple(dict.fromkeys(draft.cited)), "llm")
