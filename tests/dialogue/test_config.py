"""Loading flows.yaml and policy.yaml: typed results, defaults, errors naming file and field."""

from __future__ import annotations

from datetime import time
from pathlib import Path
from typing import Any

import pytest

from assistant.dialogue import load_flows, load_policy, parse_flows, parse_policy, validate_flow_faq_ids
from assistant.dialogue.policy import DEFAULT_EXPLICIT_PHRASES, Policy
from assistant.errors import ConfigError
from assistant.settings import DEMO_DIR
from tests.dialogue.conftest import FLOWS_DOC


def test_flows_parse_into_typed_options() -> None:
    flows = parse_flows(FLOWS_DOC)
    refund = flows.get("refund_request")
    assert refund is not None
    assert refund.slot == "product_type"
    assert refund.question.get("en") == "Is the refund for a course or a membership?"
    course = refund.option("course")
    assert course is not None
    assert course.faq_id == "refund-course"
    assert "专栏" in course.match_terms
    assert flows.faq_ids() == {"refund-course", "refund-membership"}
    assert flows.get("oos") is None


_TWO = [{"payload": "a", "title": "A", "faq_id": "f"}, {"payload": "b", "title": "B", "answer": "B!"}]


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"flows": {"x": {"slot": "s", "question": "q", "options": []}}}, "flows.x.options' needs at least two"),
        ({"flows": {"x": {"question": "q", "options": [{}]}}}, "flows.x.options[0].payload' is required"),
        (
            {"flows": {"x": {"slot": "s", "question": "q", "options": [{"payload": "a", "title": "A"}]}}},
            "flows.x.options[0]' needs exactly one of 'faq_id' or 'answer'",
        ),
        (
            {"flows": {"x": {"slot": "s", "question": "q", "options": [{"payload": "handoff", "title": "A"}]}}},
            "'handoff' is reserved",
        ),
        ({"flows": {"x": {"slot": "s", "question": {"fr": "q"}, "options": _TWO}}}, "unknown languages ['fr']"),
        ({"flows": ["x"]}, "field 'flows' must be a mapping"),
    ],
)
def test_flow_errors_name_file_and_field(doc: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_flows(doc, "demo/flows.yaml")
    assert str(caught.value).startswith("demo/flows.yaml: ")
    assert message in str(caught.value)


def test_duplicate_payloads_are_rejected() -> None:
    option = {"payload": "a", "title": "A", "faq_id": "f"}
    with pytest.raises(ConfigError, match="repeats payloads"):
        parse_flows({"flows": {"x": {"slot": "s", "question": "q", "options": [option, option]}}})


def test_flow_faq_ids_are_checked_against_the_knowledge_base() -> None:
    flows = parse_flows(FLOWS_DOC)
    validate_flow_faq_ids(flows, {"refund-course", "refund-membership", "other"})
    with pytest.raises(ConfigError, match=r"flows.refund_request.options\[1\].faq_id='refund-membership'"):
        validate_flow_faq_ids(flows, {"refund-course"})


def test_empty_policy_takes_defaults() -> None:
    assert parse_policy(None) == Policy()
    assert parse_policy({}).handoff.explicit_phrases == DEFAULT_EXPLICIT_PHRASES


def test_policy_values_are_read() -> None:
    policy = parse_policy(
        {
            "handoff": {
                "explicit_phrases": ["找真人"],
                "max_consecutive_fallbacks": 3,
                "negative_sentiment": {"threshold": -0.5, "consecutive_turns": 1},
                "complaint_hands_off": False,
                "high_stakes": {
                    "enabled": True,
                    "intents": ["refund_request"],
                    "tiers": ["vip"],
                    "min_confidence": 0.7,
                },
            },
            "business_hours": {"timezone": "UTC", "days": ["mon", "fri"], "open": "08:30", "close": "24:00"},
            "answers": {
                "complaint_opening": {"zh": "抱歉！", "en": "Sorry! "},
                "tier_greeting": {"vip": {"zh": "VIP您好，", "en": "Hi VIP, "}},
            },
            "retrieval": {"disambiguation_margin": 0.05, "corroborated_evidence": 0.3},
        }
    )
    assert policy.handoff.explicit_phrases == ("找真人",)
    assert policy.handoff.max_consecutive_fallbacks == 3
    assert policy.handoff.negative_sentiment.threshold == -0.5
    assert policy.handoff.negative_sentiment.consecutive_turns == 1
    assert not policy.handoff.complaint_hands_off
    assert policy.handoff.high_stakes.min_confidence == 0.7
    assert policy.business_hours.open == time(8, 30)
    assert policy.business_hours.close is None
    assert policy.business_hours.days == ("mon", "fri")
    assert policy.answers.complaint_opening.get("en") == "Sorry!"
    assert policy.answers.greeting_for("vip", "zh") == "VIP您好，"
    assert policy.answers.greeting_for("member", "zh") == "尊敬的会员，"  # untouched tiers keep defaults
    assert policy.retrieval.disambiguation_margin == 0.05
    assert policy.retrieval.corroborated_evidence == 0.3


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"business_hours": {"timezone": "Mars/Olympus"}}, "field 'business_hours.timezone' is not a known"),
        ({"business_hours": {"open": "9am"}}, "field 'business_hours.open' must be a time HH:MM"),
        ({"business_hours": {"days": ["monday"]}}, "field 'business_hours.days' has unknown days"),
        (
            {"handoff": {"max_consecutive_fallbacks": -1}},
            "field 'handoff.max_consecutive_fallbacks' must be at least 0",
        ),
        ({"handoff": {"negative_sentiment": {"threshold": 0.5}}}, "handoff.negative_sentiment.threshold' must be"),
        ({"handoff": {"complaint_hands_off": "yes"}}, "field 'handoff.complaint_hands_off' must be true or false"),
        ({"retrieval": {"disambiguation_margin": "wide"}}, "retrieval.disambiguation_margin' must be a number"),
        ({"retrieval": {"corroborated_evidence": 2}}, "retrieval.corroborated_evidence' must be between"),
        ({"handoff": []}, "field 'handoff' must be a mapping"),
    ],
)
def test_policy_errors_name_file_and_field(doc: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_policy(doc, "demo/policy.yaml")
    assert str(caught.value).startswith("demo/policy.yaml: ")
    assert message in str(caught.value)


def test_missing_or_broken_files_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_flows(tmp_path / "absent.yaml")
    broken = tmp_path / "policy.yaml"
    broken.write_text("handoff: [unclosed", encoding="utf-8")
    with pytest.raises(ConfigError, match="invalid YAML"):
        load_policy(broken)


def test_the_demo_flows_and_policy_load() -> None:
    flows_path, policy_path = DEMO_DIR / "flows.yaml", DEMO_DIR / "policy.yaml"
    if not flows_path.is_file() or not policy_path.is_file():
        pytest.skip("demo/flows.yaml or demo/policy.yaml is not written yet")
    flows = load_flows(flows_path)
    policy = load_policy(policy_path)
    assert flows.by_intent, "the demo declares at least one flow"
    for flow in flows.by_intent.values():
        assert flow.question.zh
        assert flow.question.en
        assert all(o.title.zh and o.title.en for o in flow.options)
    assert policy.handoff.explicit_phrases
    assert policy.business_hours.is_open is not None


def test_the_demo_flows_point_at_existing_demo_faq_entries() -> None:
    importers = pytest.importorskip("knowledge_base.importers")
    faq_dir, flows_path = DEMO_DIR / "faq", DEMO_DIR / "flows.yaml"
    if not faq_dir.is_dir() or not flows_path.is_file():
        pytest.skip("the demo FAQ or flows are not written yet")
    problems: list[Any] = []
    ids = {
        located.entry.id
        for path in sorted(faq_dir.iterdir())
        if path.is_file()
        for located in importers.parse_file(path, problems)
    }
    validate_flow_faq_ids(load_flows(flows_path), ids, str(flows_path))
