"""LLM-grounded answers: a scripted fake chat model, and a local OpenAI-compatible HTTP server."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from langchain_core.language_models import FakeListChatModel, GenericFakeChatModel
from langchain_core.messages import AIMessage

from assistant.dialogue import DialogueEngine
from assistant.dialogue.langchain_writer import LangChainAnswerWriter, build_chat_model, parse_draft
from tests.dialogue.fakes import Chat, FakeKB

EngineFactory = Callable[..., DialogueEngine]
QUESTION = "课程怎么退"
CURATED = "购买课程后7天内且学习进度不超过20%，可在“我的订单”申请全额退款，款项3-5个工作日原路退回。"


@pytest.fixture(autouse=True)
def refund_hits(kb: FakeKB) -> None:
    kb.script(QUESTION, [("refund-course", 0.9), ("refund-arrival", 0.35)])
    kb.script("怎么开发票", [("invoice", 0.9)])


def _reply(answer: str, cited: list[str]) -> str:
    return json.dumps({"answer": answer, "cited": cited}, ensure_ascii=False)


def _ask(make_engine: EngineFactory, writer: LangChainAnswerWriter, tier: str = "free") -> Any:
    return Chat(make_engine(answer_writer=writer), tier=tier).say(QUESTION)


def test_a_grounded_cited_answer_is_used(make_engine: EngineFactory) -> None:
    text = "买课7天内、进度不到20%可以全额退款，钱会在3-5个工作日退回。"
    model = FakeListChatModel(responses=[_reply(text, ["refund-course"])])
    decision = _ask(make_engine, LangChainAnswerWriter(model), tier="vip")
    assert decision.action == "answer"
    assert decision.text == "尊敬的VIP学员，" + text
    assert decision.trace.writer == "llm"
    assert [s.faq_id for s in decision.sources] == ["refund-course"]


@pytest.mark.parametrize(
    ("reply", "note"),
    [
        (_reply("30天内都能全额退款。", ["refund-course"]), "writer_rejected:unsupported_numbers:30"),
        (_reply("7天内可以退款。", []), "writer_rejected:uncited"),
        (_reply("7天内可以退款。", ["invoice"]), "writer_rejected:unknown_citation:invoice"),
        ("I cannot help with that.", "writer_rejected:uncited"),
    ],
)
def test_unsupported_or_uncited_answers_fall_back_to_curated(reply: str, note: str, make_engine: EngineFactory) -> None:
    decision = _ask(make_engine, LangChainAnswerWriter(FakeListChatModel(responses=[reply])))
    assert decision.text == CURATED
    assert decision.trace.writer == "curated"
    assert note in decision.trace.notes


def test_a_failing_model_falls_back_to_curated(make_engine: EngineFactory) -> None:
    def failing() -> Iterator[AIMessage]:
        raise TimeoutError("the model took too long")
        yield AIMessage(content="never")

    decision = _ask(make_engine, LangChainAnswerWriter(GenericFakeChatModel(messages=failing())))
    assert decision.text == CURATED
    assert "writer_error:TimeoutError" in decision.trace.notes


def test_markers_instead_of_json_are_understood() -> None:
    draft = parse_draft("七天内可退款[refund-course]，详见说明[note]。", {"refund-course"})
    assert draft.cited == ("refund-course",)
    assert draft.text == "七天内可退款，详见说明[note]。"
    fenced = parse_draft('```json\n{"answer": "好的 [refund-course]", "cited": ["refund-course"]}\n```', set())
    assert fenced.text == "好的"
    assert fenced.cited == ("refund-course",)


# -- a local OpenAI-compatible endpoint ------------------------------------------------------------


@dataclass
class FakeOpenAI:
    """Answers POST /v1/chat/completions with scripted content; records every request body."""

    content: str = ""
    status: int = 200
    delay: float = 0.0
    requests: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""


@pytest.fixture
def openai_server() -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            fake.requests.append({"path": self.path, "body": body, "auth": self.headers.get("Authorization")})
            time.sleep(fake.delay)
            completion = {
                "id": "chatcmpl-test",
                "object": "chat.completion",
                "created": 0,
                "model": body.get("model", ""),
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": fake.content}, "finish_reason": "stop"}
                ],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            }
            payload = json.dumps(completion if fake.status == 200 else {"error": {"message": "boom"}}).encode()
            self.send_response(fake.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    yield fake
    server.shutdown()
    server.server_close()


def _redact_phones(text: str) -> str:
    return re.sub(r"1\d{10}", "[手机号]", text)


@pytest.mark.integration
def test_openai_compatible_endpoint_sees_only_retrieved_faqs_and_redacted_history(
    openai_server: FakeOpenAI, kb: FakeKB, make_engine: EngineFactory
) -> None:
    kb.script("我手机号13812345678，怎么开发票", [("invoice", 0.9)])
    text = "7天内且进度不超过20%可全额退款 [refund-course]"
    openai_server.content = _reply(text, ["refund-course"])
    model = build_chat_model(openai_server.url, "sk-test", "test-model", timeout=5)
    writer = LangChainAnswerWriter(model, redact=_redact_phones)
    chat = Chat(make_engine(answer_writer=writer))
    openai_server.content = _reply("在我的订单里申请发票即可。", ["invoice"])
    assert chat.say("我手机号13812345678，怎么开发票").trace.writer == "llm"
    openai_server.content = _reply(text, ["refund-course"])

    decision = chat.say(QUESTION)

    assert decision.trace.writer == "llm"
    assert decision.text == "7天内且进度不超过20%可全额退款"
    request = openai_server.requests[-1]
    assert request["path"] == "/v1/chat/completions"
    assert request["auth"] == "Bearer sk-test"
    assert request["body"]["model"] == "test-model"
    messages = request["body"]["messages"]
    assert [m["role"] for m in messages] == ["system", "user"]
    prompt = json.dumps(messages, ensure_ascii=False)
    faq_ids = set(re.findall(r"\[id: ([\w-]+)\]", prompt))
    assert faq_ids == {"refund-course", "refund-arrival"}  # exactly the retrieved entries
    for other in ("会员有哪些权益", "直播课怎么看回放", "App Store"):
        assert other not in prompt
    assert "13812345678" not in prompt
    assert "[手机号]" in prompt
    assert "Simplified Chinese" in messages[0]["content"]


@pytest.mark.integration
@pytest.mark.parametrize(("status", "delay"), [(500, 0.0), (200, 2.0)])
def test_endpoint_errors_and_timeouts_fall_back_to_curated(
    status: int, delay: float, openai_server: FakeOpenAI, make_engine: EngineFactory
) -> None:
    openai_server.status, openai_server.delay = status, delay
    openai_server.content = _reply("7天内可退款", ["refund-course"])
    model = build_chat_model(openai_server.url, "", "test-model", timeout=0.5)
    decision = _ask(make_engine, LangChainAnswerWriter(model))
    assert decision.text == CURATED
    assert any(note.startswith("writer_error:") for note in decision.trace.notes)


def test_an_answer_resting_on_another_retrieved_entry_makes_that_entry_the_topic(
    make_engine: EngineFactory,
) -> None:
    reply = _reply("审核通过后3-5个工作日内原路退回。", ["refund-arrival"])
    chat = Chat(make_engine(answer_writer=LangChainAnswerWriter(FakeListChatModel(responses=[reply]))))
    decision = chat.say(QUESTION)
    assert decision.faq_id == "refund-arrival"
    assert [s.faq_id for s in decision.sources] == ["refund-arrival"]
    assert chat.state.last_question == "退款多久到账"
