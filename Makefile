# The dev loop. `make test` and `make demo` work on a fresh clone: they create .venv and install on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test lint typecheck unit demo sim bench clean

$(STAMP): requirements.txt requirements-dev.txt requirements-infra.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements-dev.txt
	$(BIN)/python -m pip install -q --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy runtime lambdas tests

unit: $(STAMP)
	$(BIN)/pytest -q

test: lint typecheck unit

sim: $(STAMP)
	$(BIN)/copytrader sim

demo: $(STAMP)
	$(BIN)/copytrader demo

bench: $(STAMP)
	$(BIN)/python -m benchmarks.copy_cycle

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache cdk.out
