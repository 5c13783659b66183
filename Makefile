# writein — the two commands a newcomer needs are `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test lint typecheck demo bench screens clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check writein core bot handlers admin demo crypto store telesim gateway tests bench
	$(BIN)/ruff format --check writein core bot handlers admin demo crypto store telesim gateway tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint
	$(BIN)/pytest -q -p no:cacheprovider -rs --cov=crypto --cov-report=term --cov-fail-under=95

demo: $(STAMP)
	$(BIN)/writein demo

bench: $(STAMP)
	$(BIN)/python bench/bench_crypto.py
	$(BIN)/python bench/bench_telesim.py
	$(BIN)/python bench/bench_relay.py
	$(BIN)/python bench/bench_console.py

# The console's screens as SVG for docs/operations.md, drawn on a fictional caseload.
screens: $(STAMP)
	$(BIN)/python -m demo.screens docs/screens

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
