# The two commands in the README are the contract: each does its own set-up.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test lint bench clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is needed ($(PYTHON) not found); set PYTHON=..." >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,research]'
	@touch $(STAMP)

run: $(STAMP)
	$(PY) bootstrap.py $(ARGS)

# Lint and types first: a defect they can name is cheaper to read there than in a failing test.
lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m mypy

test: lint
	$(PY) -m pytest -q $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) -m pip install --quiet -e '.[bench]' || echo "nautilus_trader not installable here: its comparison will be skipped" >&2
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) reports data .pytest_cache .mypy_cache .ruff_cache
