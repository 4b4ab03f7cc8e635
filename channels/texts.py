"""What the WeChat channel says on its own (Chinese, the platform's language), and quick replies as text."""

from __future__ import annotations

import re
from collections.abc import Sequence

UNSUPPORTED = "抱歉，我目前只能看懂文字消息。请用文字描述您的问题；需要人工服务请回复“转人工”。"
TOO_FAST = "您发送得太快了，请稍等片刻再发。"
CANNOT_READ = "抱歉，这条消息我没能处理，请换个说法再发一次。"
OPTIONS_HEADER = "回复数字即可选择："
# WeChat refuses text messages over 2048 bytes of UTF-8 (errcode 45002); keep a little margin.
MAX_TEXT_BYTES = 2000
_NUMBER = re.compile(r"^\s*(\d{1,2})\s*[.。、]?\s*$")


def with_options(text: str, titles: Sequence[str]) -> str:
    """The reply with its quick replies as numbered lines the user can answer with a digit."""
    if not titles:
        return text
    lines = [f"{i}. {title}" for i, title in enumerate(titles, start=1)]
    return "\n".join([text, "", OPTIONS_HEADER, *lines])


def chosen_option(text: str, count: int) -> int | None:
    """The 0-based option a user picked by typing its number, or None."""
    match = _NUMBER.match(text)
    if match is None:
        return None
    number = int(match.group(1))
    return number - 1 if 1 <= number <= count else None


def chunks(text: str, max_bytes: int = MAX_TEXT_BYTES) -> list[str]:
    """Split a long text into messages WeChat accepts, at line breaks where possible."""
    pieces: list[str] = []
    current = ""
    for line in text.split("\n"):
        candidate = f"{current}\n{line}" if current else line
        if len(candidate.encode()) <= max_bytes:
            current = candidate
            continue
        if current:
            pieces.append(current)
        current = ""
        for char in line:  # a single over-long line is cut between characters
            if len((current + char).encode()) > max_bytes:
                pieces.append(current)
                current = ""
            current += char
    if current or not pieces:
        pieces.append(current)
    return pieces
