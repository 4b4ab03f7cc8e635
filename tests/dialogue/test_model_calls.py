"""On the real knowledge base and intent model, a turn costs the embedding model one call, not one per reader."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from assistant.content import ContentManager
from assistant.dialogue import DialogueState, UserTurn
from assistant.embedding import CachingEmbedder, Embedder, RecordingEmbedder
from assistant.settings import Settings

pytestmark = pytest.mark.integration


def test_a_new_chinese_question_is_embedded_with_its_gloss_in_one_model_call(
    prepared_data_dir: Path, real_embedder: Embedder
) -> None:
    model = RecordingEmbedder(real_embedder)
    settings = Settings(data_dir=prepared_data_dir, build_on_start=False, log_json=False)
    content = ContentManager(settings, CachingEmbedder(model))
    content.prepare()
    engine = content.engine()
    model.calls.clear()

    turn = UserTurn("买了课程三天还能退钱吗", None, "free", "web", None, datetime(2026, 3, 2, 10, tzinfo=UTC))
    decision, _ = engine.decide(DialogueState(), turn)

    assert decision.action == "answer"
    assert len(model.calls) == 1  # the intent classifier and the search share it
    assert model.calls[0][0] == "买了课程三天还能退钱吗"
    assert len(model.calls[0]) >= 2  # with the English gloss the search reads as well
