"""`python -m knowledge_base build|search` as a user runs it: subprocesses, JSON lines, clean errors."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from assistant.embedding import Embedder
from tests.conftest import run_module

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return run_module("knowledge_base", *args, stdin=stdin)


@pytest.fixture(scope="module")
def index_root(tmp_path_factory: pytest.TempPathFactory, faq_dir: Path, real_embedder: Embedder) -> Path:
    """A snapshot root built by the CLI; the already exported ONNX model is copied in (no torch export)."""
    from assistant.st_embedder import OnnxEmbedder

    assert isinstance(real_embedder, OnnxEmbedder)
    root = tmp_path_factory.mktemp("cli-index")
    shutil.copytree(real_embedder.onnx_path.parent, root / "models" / real_embedder.onnx_path.parent.name)
    result = _run("build", str(faq_dir), "--out", str(root))
    assert result.returncode == 0, result.stderr
    assert "built v000001" in result.stdout
    return root


def test_build_names_entries_without_alternative_questions(tmp_path: Path, real_embedder: Embedder) -> None:
    from assistant.st_embedder import OnnxEmbedder

    assert isinstance(real_embedder, OnnxEmbedder)
    shutil.copytree(real_embedder.onnx_path.parent, tmp_path / "models" / real_embedder.onnx_path.parent.name)
    faq = tmp_path / "faq.csv"
    faq.write_text(
        "id,question,answer,category,alt_questions\n"
        "refund,怎么退款？,7天内可退。,refund,课程能退吗|不想学了退钱\n"
        "invoice,怎么开发票？,在订单页申请。,invoice,\n",
        encoding="utf-8",
    )
    result = _run("build", str(faq), "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "note: 1 of 2 entries have no alternative questions (invoice)" in result.stdout


def test_build_then_search_prints_one_json_object_per_query(index_root: Path) -> None:
    queries = "怎么开发票\n\n明天天气怎么样\n"
    result = _run("search", "--index", str(index_root), "--json", "--top-k", "3", stdin=queries)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["query"] for line in lines] == ["怎么开发票", "明天天气怎么样"]
    answered, rejected = lines
    assert answered["answerable"] is True
    assert answered["hits"][0]["id"] == "invoice"
    assert answered["hits"][0]["question"] == "怎么开发票？"
    assert len(answered["hits"]) == 3
    scores = [hit["score"] for hit in answered["hits"]]
    assert scores == sorted(scores, reverse=True)
    assert rejected["answerable"] is False


def test_readable_output_without_json(index_root: Path) -> None:
    result = _run("search", "--index", str(index_root), stdin="忘记密码怎么办\n")
    assert result.returncode == 0, result.stderr
    assert "-> answer" in result.stdout
    assert "1. [" in result.stdout
    assert "password" in result.stdout


def test_missing_index_is_a_clean_error(tmp_path: Path) -> None:
    result = _run("search", "--index", str(tmp_path / "none"), stdin="hi\n")
    assert result.returncode == 2
    assert result.stderr.startswith("error: no knowledge-base snapshot")
    assert "Traceback" not in result.stderr


def test_bad_sources_are_a_clean_error_naming_file_line_field(tmp_path: Path) -> None:
    bad = tmp_path / "faq.csv"
    bad.write_text("id,question,answer\nok,问题,答案\nbroken,,答案\n", encoding="utf-8")
    result = _run("build", str(bad), str(tmp_path / "missing.md"), "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert f"{bad}:3: question: is missing or empty" in result.stderr
    assert "missing.md: no such file or folder" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out" / "snapshots").exists()
