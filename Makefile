# One task runner. `make run` serves the demo; `make test` runs lint, types and the whole suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: install system-deps prepare run test lint format typecheck unit evals bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# torch first and pinned, so pip takes the local CPU wheel instead of CUDA builds.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

system-deps:
	bash scripts/install-system-deps.sh

prepare: install
	$(BIN)/python -m assistant.prepare

run: prepare
	$(BIN)/python app.py

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: install
	$(BIN)/mypy

test: install system-deps lint typecheck
	$(BIN)/python -m pytest

unit: install
	$(BIN)/python -m pytest -m "not integration and not browser and not slow"

evals: install
	$(BIN)/python -m evals.kb_eval --faq demo/faq --queries evals/data/kb_queries.csv --out evals/reports/kb_test
	$(BIN)/python -m evals.kb_eval --faq demo/faq --queries evals/data/kb_test2_queries.csv --out evals/reports/kb_test2
	$(BIN)/python -m evals.intent_benchmarks
	$(BIN)/python -m evals.dialogue_replay --compare-context
	$(BIN)/python -m evals.kb_eval --faq evals/data/foreign/exam/faq.csv --queries evals/data/foreign/exam/queries.csv --out evals/reports/foreign_exam
	$(BIN)/python -m evals.dialogue_replay --dialogues evals/data/foreign/exam/dialogues.jsonl --faq evals/data/foreign/exam/faq.csv --intents evals/data/foreign/exam/intents.csv --out evals/reports/foreign_exam_dialogues
	$(BIN)/python -m evals.kb_eval --faq evals/data/foreign/lang/faq.csv --queries evals/data/foreign/lang/queries.csv --out evals/reports/foreign_lang
	$(BIN)/python -m evals.dialogue_replay --dialogues evals/data/foreign/lang/dialogues.jsonl --faq evals/data/foreign/lang/faq.csv --intents evals/data/foreign/lang/intents.csv --out evals/reports/foreign_lang_dialogues
	$(BIN)/python -m evals gaps

bench: install
	$(BIN)/python -m bench.kb_bench
	$(BIN)/python -m bench.turn_bench
	$(BIN)/python -m bench.wechat_bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
