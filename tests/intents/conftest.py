"""A small Chinese + English intent fixture and a model trained on it once per module (real embedder)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from assistant.embedding import Embedder
from assistant.intents.data import Example
from assistant.intents.model import HybridIntentClassifier
from assistant.intents.training import train_intent_model

TRAIN: dict[str, list[str]] = {
    "refund_request": [
        "我要退款",
        "怎么申请退款",
        "这门课能退款吗",
        "买错课了想退款",
        "申请退款",
        "课程不满意要求退款",
        "I want a refund",
        "how do I get a refund for this course",
        "refund my purchase please",
        "can I get my money back",
    ],
    "auto_renew": [
        "怎么取消自动续费",
        "关闭自动续费",
        "不想自动扣费了",
        "自动续费在哪里关",
        "取消连续包月",
        "cancel auto renewal",
        "how to turn off automatic renewal",
        "stop my subscription from renewing",
        "disable auto-renew",
        "I don't want to be charged every month",
    ],
    "invoice": [
        "怎么开发票",
        "我要开发票",
        "发票在哪里申请",
        "能开增值税发票吗",
        "电子发票怎么下载",
        "I need an invoice",
        "how do I get a receipt",
        "can you issue an invoice for my order",
        "invoice please",
        "where can I download my invoice",
    ],
    "playback_issue": [
        "视频播放不了",
        "课程视频一直卡",
        "视频打不开",
        "音频没有声音",
        "播放黑屏",
        "the video won't play",
        "video keeps buffering",
        "no sound in the lesson",
        "playback error",
        "the course video is stuck loading",
    ],
    "human_agent": [
        "转人工",
        "我要人工客服",
        "找真人客服",
        "人工服务",
        "帮我转接客服",
        "talk to a human",
        "I want a real person",
        "connect me to an agent",
        "human agent please",
        "let me speak to customer service",
    ],
    "greeting": [
        "你好",
        "您好",
        "在吗",
        "哈喽",
        "早上好",
        "hello",
        "hi there",
        "hey",
        "good morning",
        "hi",
    ],
}
OOS_TRAIN = [
    "今天天气怎么样",
    "明天会下雨吗",
    "推荐一家餐厅",
    "股票今天涨了吗",
    "讲个笑话",
    "what's the weather like",
    "who won the football game",
    "recommend a restaurant",
    "tell me a joke",
    "what is the capital of France",
]
# Held-out paraphrases (not in TRAIN) that share vocabulary with their intent.
PARAPHRASES = [
    ("课程怎么退款", "refund_request"),
    ("please refund my course", "refund_request"),
    ("怎么关闭自动续费功能", "auto_renew"),
    ("how can I cancel the auto renewal", "auto_renew"),
    ("发票怎么开", "invoice"),
    ("I need an invoice for my order", "invoice"),
    ("视频一直卡住播放不了", "playback_issue"),
    ("转接人工客服", "human_agent"),
    ("I want to talk to a human agent", "human_agent"),
]
OFF_TOPIC = [
    "后天天气怎么样",
    "what's the weather like tomorrow",
    "给我讲个笑话吧",
    "which team won the football match",
]


def fixture_examples() -> list[Example]:
    """The training fixture as examples (in-scope intents plus `oos` rows)."""
    rows = [Example(text, intent) for intent, texts in TRAIN.items() for text in texts]
    return rows + [Example(text, "oos") for text in OOS_TRAIN]


def write_csv(path: Path, rows: list[tuple[str, str]]) -> Path:
    """Write `text,intent` rows with a header."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "intent"])
        writer.writerows(rows)
    return path


@pytest.fixture
def train_csv(tmp_path: Path) -> Path:
    """The training fixture as a CSV file."""
    return write_csv(tmp_path / "intents.csv", [(ex.text, ex.intent) for ex in fixture_examples()])


@pytest.fixture(scope="module")
def trained(real_embedder: Embedder) -> HybridIntentClassifier:
    """A model trained on the fixture with the real embedder (a few seconds)."""
    return train_intent_model(fixture_examples(), real_embedder)
