# semsearch — `make run` to try it, `make test` to check it. Both set everything up first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
MODEL_STAMP := $(VENV)/.model
HOST ?= 127.0.0.1
PORT ?= 8000
SAMPLE_INDEX ?= var/sample-index
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: setup model run test lint bench bench-quick clean

setup: $(STAMP)

# torch first and pinned: its CPU wheel lies on local disk, an unpinned one is multi-GB CUDA.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check torch==2.13.0
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev,distributed]'
	touch $@

model: $(STAMP)
	$(BIN)/semsearch model install

run: model
	$(BIN)/semsearch ingest data/samples/*.txt --index $(SAMPLE_INDEX)
	@echo "semsearch: open http://$(HOST):$(PORT)/ (API docs at http://$(HOST):$(PORT)/docs); Ctrl-C stops"
	$(BIN)/semsearch serve --index $(SAMPLE_INDEX) --host $(HOST) --port $(PORT)

# mypy and import-linter read packages from disk and cannot follow the editable install's
# mapping of semsearch.* onto the top-level folders, so they check a view of symlinks.
TYPECHECK := var/typecheck

lint: $(STAMP)
	$(BIN)/ruff check semsearch embedder index service tests bench
	rm -rf $(TYPECHECK) && mkdir -p $(TYPECHECK)
	cp -rs $(CURDIR)/semsearch $(TYPECHECK)/semsearch
	for part in embedder index service; do cp -rs $(CURDIR)/$$part $(TYPECHECK)/semsearch/$$part; done
	find $(TYPECHECK) -name __pycache__ -prune -exec rm -rf {} +
	$(BIN)/mypy
	cd $(TYPECHECK) && PYTHONPATH=. $(CURDIR)/$(BIN)/lint-imports --config $(CURDIR)/pyproject.toml

test: model lint
	$(BIN)/pytest -q

bench: model
	$(BIN)/python -m bench.run

bench-quick: model
	$(BIN)/python -m bench.run --quick

clean:
	rm -rf $(VENV) var artifacts .pytest_cache .mypy_cache .ruff_cache
