# Two commands set everything up: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test demo bench clean

# requirements-dev.txt includes requirements.txt: production installs only the latter (operations.md).
$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m devtools.run

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest

# A signed Shopify order and a signed Toast check sent to a running `make run`, then the members and balances.
demo: $(STAMP)
	$(BIN)/python -m devtools.demo

clean:
	rm -rf $(VENV) instance .pytest_cache .hypothesis

# The benchmarks (BENCHMARKS.md); BENCH=ingest,worker,inquire,ledger runs a subset. wrk: apt-get install wrk.
bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH)
