"""The dialogue replay's scoring and the dev dialogue files it reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.dialogue import load_flows
from evals.dialogue_replay import Score, TurnResult, load_dialogues
from knowledge_base import load_faq

ROOT = Path(__file__).resolve().parents[2]
DEV_FILES = sorted((ROOT / "evals" / "data").glob("dialogues_dev*.jsonl"))


def _turn(dialogue: str, expected: str, faq: str | None, got: str, got_faq: str | None) -> TurnResult:
    return TurnResult(dialogue, 0, "text", expected, faq, got, got_faq, "reply")


def test_scores_by_tag_count_actions_and_answers() -> None:
    score = Score(
        [
            _turn("a", "answer", "x", "answer", "x"),
            _turn("a", "answer", "y", "answer", "x"),  # right action, wrong entry
            _turn("b", "clarify", None, "answer", "x"),
        ]
    )
    tags = {"a": {"followup"}, "b": {"flow"}}
    followup = score.summary(tags, "followup")
    assert (followup["turns"], followup["action_accuracy"], followup["turn_accuracy"]) == (2, 1.0, 0.5)
    assert score.summary(tags, "flow")["action_accuracy"] == 0.0
    assert score.summary()["dialogues_all_correct"] == 0.0


def test_a_malformed_dialogue_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "ok", "turns": [{"user": "hi", "expect": {"action": "smalltalk"}}]}\n{"id": "x"}\n')
    with pytest.raises(SystemExit, match=r"bad\.jsonl:2"):
        load_dialogues(path)


@pytest.mark.parametrize("path", DEV_FILES, ids=lambda p: p.name)
def test_dev_dialogues_name_real_faq_entries_and_buttons(path: Path) -> None:
    faq_ids = {e.id for e in load_faq([ROOT / "demo" / "faq"])}
    payloads = {o.payload for f in load_flows(ROOT / "demo" / "flows.yaml").by_intent.values() for o in f.options}
    dialogues = load_dialogues(path)
    assert len({d["id"] for d in dialogues}) == len(dialogues)
    for dialogue in dialogues:
        for turn in dialogue["turns"]:
            assert turn["expect"]["action"] in ("answer", "clarify", "smalltalk", "fallback", "handoff")
            assert turn["expect"].get("faq_id", next(iter(faq_ids))) in faq_ids
            button = turn.get("quick_reply")
            if button is not None:
                assert button in payloads or button == "handoff" or button.removeprefix("faq:") in faq_ids


def test_a_rate_limited_turn_is_sent_again_after_the_servers_retry_after() -> None:
    import httpx

    from evals.dialogue_replay import post_retrying

    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if len(calls) == 1:
            return httpx.Response(429, headers={"Retry-After": "0"}, json={"detail": "slow down"})
        return httpx.Response(200, json={"action": "answer"})

    with httpx.Client(base_url="http://replay.test", transport=httpx.MockTransport(handler)) as client:
        response = post_retrying(client, "/v1/conversations/c1/messages", {"text": "hi"}, {})
    assert response.json() == {"action": "answer"}
    assert calls == ["/v1/conversations/c1/messages"] * 2
