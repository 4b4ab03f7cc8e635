"""Personal data (phone, ID card, email, bank card) is redacted in logs, in stored transcripts when configured,
and in everything sent to an LLM."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models import FakeListChatModel
from langchain_core.messages import BaseMessage
from pydantic import Field

from api.runtime import _answer_writer
from assistant.dialogue import DialogueEngine, parse_flows, parse_policy
from assistant.logs import configure_logging
from storage.bus import InMemoryEventBus
from storage.sqlite import SqliteStore
from tests.dialogue.conftest import FLOWS_DOC
from tests.dialogue.fakes import Chat, FakeIntents, FakeKB
from tests.privacy.conftest import bearer, open_site, privacy_settings

PHONE = "13812345678"
ID_CARD = "11010519491231002X"
EMAIL = "zhang.san@example.com"
BANK_CARD = "6222 0212 3456 7890 123"
PERSONAL = (PHONE, ID_CARD, EMAIL, BANK_CARD)
TEXT = f"课程怎么退款？我的手机{PHONE}，身份证{ID_CARD}，邮箱{EMAIL}，退到银行卡{BANK_CARD}"


@pytest.fixture
def captured_logs() -> Iterator[io.StringIO]:
    """The root logger configured as the server does, writing to a buffer; restored afterwards."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    stream = io.StringIO()
    yield stream
    root.handlers[:], _ = saved
    root.setLevel(saved[1])


@pytest.mark.parametrize("json_lines", [True, False])
def test_logs_never_show_personal_data(
    captured_logs: io.StringIO, monkeypatch: pytest.MonkeyPatch, json_lines: bool
) -> None:
    monkeypatch.setattr("sys.stderr", captured_logs)
    configure_logging("INFO", json_lines)
    log = logging.getLogger("assistant.test")

    log.info("user said %s", TEXT, extra={"text": TEXT, "user_email": EMAIL})
    try:
        raise ValueError(f"cannot parse {PHONE}")
    except ValueError:
        log.exception("turn failed for %s", EMAIL)

    output = captured_logs.getvalue()
    assert "user said" in output
    assert "cannot parse" in output  # the traceback is there, without the number
    for value in PERSONAL:
        assert value not in output
    assert "[手机号]" in output
    if json_lines:
        first = json.loads(output.splitlines()[0])
        assert first["text"].startswith("课程怎么退款？我的手机[手机号]，身份证[身份证号]，邮箱[邮箱]")


def test_stored_transcripts_are_redacted_when_configured(tmp_path: Path) -> None:
    settings = privacy_settings(tmp_path, redact_transcripts=True)
    with open_site(settings, SqliteStore(tmp_path / "r.db"), InMemoryEventBus()) as site:
        conv = site.start("u-pii")
        turn = site.say(conv, text=TEXT)
        site.hand_off(conv)
        transcript = site.client.get(
            f"/v1/conversations/{conv['conversation_id']}/messages", headers=bearer(conv["token"])
        ).json()

        assert (
            turn["user_message"]["text"]
            == "课程怎么退款？我的手机[手机号]，身份证[身份证号]，邮箱[邮箱]，退到银行卡[银行卡号]"
        )
        assert transcript["messages"][0]["text"] == turn["user_message"]["text"]
        dump = site.store.dump_text()  # messages, dialogue state, the engine's trace, events, the ticket packet
        for value in PERSONAL:
            assert value not in dump


def test_transcripts_keep_the_text_as_typed_by_default(tmp_path: Path) -> None:
    with open_site(privacy_settings(tmp_path), SqliteStore(tmp_path / "r.db"), InMemoryEventBus()) as site:
        turn = site.say(site.start("u-plain"), text=TEXT)
    assert turn["user_message"]["text"] == TEXT


class RecordingChatModel(FakeListChatModel):
    """A fake chat model that remembers every prompt it was sent."""

    prompts: list[str] = Field(default_factory=list)

    def _call(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> str:
        self.prompts.append("\n".join(str(m.content) for m in messages))
        return super()._call(messages, *args, **kwargs)


def test_nothing_personal_reaches_the_llm(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    answer = json.dumps({"answer": "购买课程后7天内可申请全额退款。", "cited": ["refund-course"]}, ensure_ascii=False)
    model = RecordingChatModel(responses=[answer, answer])
    # The writer exactly as the server builds it when an LLM endpoint is configured, on the fake model.
    monkeypatch.setattr("assistant.dialogue.langchain_writer.build_chat_model", lambda *a, **k: model)
    writer = _answer_writer(privacy_settings(tmp_path, llm_base_url="http://127.0.0.1:9/v1"))
    kb = FakeKB()
    kb.script(TEXT, [("refund-course", 0.93)])
    kb.script(f"那会员呢 {EMAIL}", [("refund-membership", 0.93)])
    policy = parse_policy({"business_hours": {"open": "00:00", "close": "24:00"}}, "policy.yaml")
    engine = DialogueEngine(
        kb, FakeIntents(), flows=parse_flows(FLOWS_DOC, "flows.yaml"), policy=policy, answer_writer=writer
    )
    chat = Chat(engine)

    first = chat.say(TEXT)
    chat.say(f"那会员呢 {EMAIL}")  # the history of the first turn goes along in the second prompt

    assert first.trace.writer == "llm"
    assert len(model.prompts) == 2
    for prompt in model.prompts:
        for value in PERSONAL:
            assert value not in prompt
    assert "[手机号]" in model.prompts[1]
    assert "[邮箱]" in model.prompts[1]
