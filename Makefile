# `make demo` and `make test` work on a machine with only python3 and pip: they install uv into
# .tools/ when it is not on PATH, then sync the workspace venv (.venv) from uv.lock.
PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
RUN := $(UV) run --frozen --no-sync

.PHONY: demo test check lint types pytest bench venv clean

venv: .venv/.synced

.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv

.venv/.synced: $(UV) uv.lock pyproject.toml core/pyproject.toml integrations/airflow/pyproject.toml integrations/dagster/pyproject.toml integrations/prefect/pyproject.toml
	$(UV) sync --frozen --all-packages --compile-bytecode --quiet
	@touch $@

demo: venv
	$(RUN) python examples/demo/run_demo.py

check: lint types

lint: venv
	$(RUN) ruff format --check .
	$(RUN) ruff check .

types: venv
	$(RUN) mypy

pytest: venv
	$(RUN) pytest -q -m "not slow" $(PYTEST_ARGS)

test: check pytest

bench: venv
	$(RUN) python benchmarks/run.py $(BENCH_ARGS)

clean:
	rm -rf .venv .tools .mypy_cache .pytest_cache .ruff_cache
