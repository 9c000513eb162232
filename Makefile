# The dev loop. `make test` and `make demo` work on a fresh clone: they create .venv and install on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test lint typecheck unit demo sim bench synth lambda-asset clean

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
	$(BIN)/mypy runtime lambdas tests infra app.py benchmarks

unit: $(STAMP)
	$(BIN)/pytest -q

test: lint typecheck unit

sim: $(STAMP)
	$(BIN)/copytrader sim

demo: $(STAMP)
	$(BIN)/copytrader demo

bench: $(STAMP)
	$(BIN)/python -m benchmarks.copy_cycle

# CloudFormation templates into cdk.out (offline; no Docker, no AWS account needed).
synth: $(STAMP)
	JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 CDK_OUTDIR=cdk.out $(BIN)/python app.py

# The Lambda code asset with its dependencies for arm64 (build/lambda), built without Docker.
lambda-asset: $(STAMP)
	$(BIN)/python -m infra.lambda_asset

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache cdk.out build
