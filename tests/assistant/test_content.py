"""Content preparation: an operator's own FAQ with the bundled demo flows, and an operator's flows file."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.content import ContentManager
from assistant.dialogue import DialogueState
from assistant.dialogue.decision import UserTurn
from assistant.embedding import HashingEmbedder
from assistant.errors import ConfigError
from assistant.settings import Settings

FAQ = """id,question,answer,category,alt_questions
yoga-refund,课程购买后可以退款吗？,购买后7天内且学习进度不足20%可申请全额退款。,refund,买了课不想学了能退钱吗
yoga-replay,直播课错过了怎么办？,直播结束后2小时内生成回放，回放保存180天。,live,没赶上直播能看回放吗
yoga-invoice,如何开具发票？,在「我的-订单-申请发票」填写抬头和税号。,invoice,怎么开票
yoga-coach,私教课怎么预约？,在「私教」页选择教练和时间段，提前24小时预约。,coaching,一对一课程怎么约
"""

INTENTS = """text,intent
我要退款,refund_request
怎么退钱,refund_request
能退吗,refund_request
想开发票,invoice
发票怎么开,invoice
开票,invoice
转人工,human_agent
真人客服,human_agent
你好,greeting
在吗,greeting
谢谢,thanks_goodbye
再见,thanks_goodbye
今天天气怎么样,oos
帮我写首诗,oos
"""


def _settings(tmp_path: Path, **overrides: object) -> Settings:
    (tmp_path / "faq.csv").write_text(FAQ, encoding="utf-8")
    (tmp_path / "intents.csv").write_text(INTENTS, encoding="utf-8")
    return Settings(
        data_dir=tmp_path / "data",
        kb_path=tmp_path / "faq.csv",
        intents_path=tmp_path / "intents.csv",
        log_json=False,
        **overrides,  # type: ignore[arg-type]
    )


def test_own_faq_with_the_demo_flows_starts_and_answers_from_the_own_faq(tmp_path: Path) -> None:
    content = ContentManager(_settings(tmp_path), HashingEmbedder())
    content.prepare()

    # The demo flows point at the demo's FAQ ids and courses: they are left out rather than failing start-up or
    # offering options that lead nowhere.
    assert content.flows is not None
    assert content.flows.get("refund_request") is None
    assert content.flows.get("course_recommendation") is None
    outcome = content.engine().decide(DialogueState(), UserTurn("课程购买后可以退款吗？"))
    decision = outcome[0]
    assert decision.action == "answer"
    assert [s.faq_id for s in decision.sources][:1] == ["yoga-refund"]


def test_an_operators_flows_file_naming_unknown_faq_ids_is_refused_by_name(tmp_path: Path) -> None:
    flows = tmp_path / "flows.yaml"
    flows.write_text(
        """flows:
  invoice:
    slot: kind
    question: {zh: "您要哪种发票？", en: "Which invoice?"}
    options:
      - {payload: personal, title: {zh: 个人, en: Personal}, faq_id: yoga-invoice}
      - {payload: company, title: {zh: 公司, en: Company}, faq_id: no-such-entry}
""",
        encoding="utf-8",
    )
    content = ContentManager(_settings(tmp_path, flows_path=flows), HashingEmbedder())
    with pytest.raises(ConfigError, match="no-such-entry"):
        content.prepare()
