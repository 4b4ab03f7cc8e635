"""Fixtures for dialogue tests: scripted KB and intents, the demo-like flows, default policy, an engine factory."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from assistant.dialogue import DialogueEngine, Flows, Policy, parse_flows
from tests.dialogue.fakes import FakeIntents, FakeKB

FLOWS_DOC: dict[str, Any] = {
    "flows": {
        "refund_request": {
            "slot": "product_type",
            "question": {"zh": "请问您要退款的是课程还是会员？", "en": "Is the refund for a course or a membership?"},
            "options": [
                {
                    "payload": "course",
                    "title": {"zh": "课程", "en": "Course"},
                    "synonyms": ["课程", "课", "专栏", "course"],
                    "faq_id": "refund-course",
                },
                {
                    "payload": "membership",
                    "title": {"zh": "会员", "en": "Membership"},
                    "synonyms": ["会员", "vip", "年卡", "membership"],
                    "faq_id": "refund-membership",
                },
            ],
        },
        "course_recommendation": {
            "slot": "level",
            "question": {"zh": "请问您目前的基础是？", "en": "What is your current level?"},
            "options": [
                {
                    "payload": "beginner",
                    "title": {"zh": "零基础", "en": "Beginner"},
                    "synonyms": ["零基础", "小白", "新手", "beginner"],
                    "answer": {"zh": "推荐从《Python入门30讲》开始。", "en": "Start with Python Basics in 30 Lessons."},
                },
                {
                    "payload": "intermediate",
                    "title": {"zh": "有基础", "en": "Some experience"},
                    "synonyms": ["有基础", "学过", "intermediate"],
                    "answer": {"zh": "推荐《数据分析实战》。", "en": "Try Hands-on Data Analysis."},
                },
                {
                    "payload": "advanced",
                    "title": {"zh": "进阶", "en": "Advanced"},
                    "synonyms": ["进阶", "高级", "advanced"],
                    "answer": {"zh": "推荐《机器学习进阶》。", "en": "Try Advanced Machine Learning."},
                },
            ],
        },
    }
}


@pytest.fixture
def kb() -> FakeKB:
    return FakeKB()


@pytest.fixture
def intents() -> FakeIntents:
    return FakeIntents()


@pytest.fixture
def flows() -> Flows:
    return parse_flows(FLOWS_DOC, "test-flows.yaml")


@pytest.fixture
def policy() -> Policy:
    return Policy()


@pytest.fixture
def make_engine(kb: FakeKB, intents: FakeIntents, flows: Flows, policy: Policy) -> Callable[..., DialogueEngine]:
    def make(**overrides: Any) -> DialogueEngine:
        options: dict[str, Any] = {"flows": flows, "policy": policy, **overrides}
        return DialogueEngine(kb, intents, **options)

    return make
