# semsearch — `make run` to try it, `make check` while you work, `make test` before you push
# (it is what CI runs). All set everything up first.
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

.PHONY: setup model run check test lint bench bench-quick clean

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
# What tests share (helpers, fakes, child-process modules) is type-checked like the product;
# the test modules themselves are not yet.
TYPED_TESTS := tests/helpers $(filter-out tests/test_%,$(wildcard tests/*.py))

lint: $(STAMP)
	$(BIN)/ruff check semsearch embedder index service tests bench
	rm -rf $(TYPECHECK) && mkdir -p $(TYPECHECK)
	cp -rs $(CURDIR)/semsearch $(TYPECHECK)/semsearch
	for part in embedder index service; do cp -rs $(CURDIR)/$$part $(TYPECHECK)/semsearch/$$part; done
	find $(TYPECHECK) -name __pycache__ -prune -exec rm -rf {} +
	$(BIN)/mypy
	$(BIN)/mypy $(TYPED_TESTS)
	cd $(TYPECHECK) && PYTHONPATH=. $(CURDIR)/$(BIN)/lint-imports --config $(CURDIR)/pyproject.toml

# The tests run on two pytest-xdist workers: much of the suite waits on servers, child
# processes and Ray. `make test PYTEST_ARGS=-n0` runs them in one process (to debug, or to
# time one test without a neighbour).
PYTEST_ARGS ?= -n 2

# The fast tests: lint, types, and every test not marked slow (the slow ones load the real
# model, drive Chromium or start Ray).
check: model lint
	$(BIN)/pytest -q -m "not slow" $(PYTEST_ARGS)

# Everything, as CI runs it (.ci/run).
test: model lint
	$(BIN)/pytest -q $(PYTEST_ARGS)

bench: model
	$(BIN)/python -m bench.run

bench-quick: model
	$(BIN)/python -m bench.run --quick

clean:
	rm -rf $(VENV) var artifacts .pytest_cache .mypy_cache .ruff_cache
