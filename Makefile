VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3

.PHONY: install test lint typecheck pytest sandbox bench clean pytest-slack-modes

# Two stamps: the sandbox needs only the runtime dependencies; tests add the dev tools.
# pip's own chatter (build-backend notices) goes to a log that is shown only when the install fails.
PIP_LOG := $(VENV)/install.log
PIP := $(PY) -m pip install -q --disable-pip-version-check

$(VENV)/.runtime: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "installing runbook-bot into $(VENV) (log: $(PIP_LOG))"
	@$(PIP) -e . >$(PIP_LOG) 2>&1 || { cat $(PIP_LOG); exit 1; }
	@touch $@

$(VENV)/.installed: $(VENV)/.runtime
	@echo "installing the development tools into $(VENV)"
	@$(PIP) -e '.[dev]' >>$(PIP_LOG) 2>&1 || { cat $(PIP_LOG); exit 1; }
	@touch $@

install: $(VENV)/.installed

lint: install
	$(VENV)/bin/ruff check bot hooks tests bench
	$(VENV)/bin/ruff format --check bot hooks tests bench
	$(VENV)/bin/lint-imports

typecheck: install
	$(VENV)/bin/mypy

# Most tests wait on sockets and subprocesses, not the CPU: four workers (one test file each at a time) keep the
# suite within its 10-minute budget on two cores. PYTEST_WORKERS=0 runs everything in this one process.
PYTEST_WORKERS ?= 4
pytest: install
	$(VENV)/bin/pytest -q -p no:cacheprovider -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

test: lint typecheck pytest

sandbox: $(VENV)/.runtime
	$(VENV)/bin/runbookctl sandbox

# Every benchmark in bench/, one after another; writes BENCHMARKS.md (BENCH_ARGS e.g. --note "..." or --only store).
bench: install
	$(PY) bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

# Every Slack scenario over Socket Mode and over HTTP mode (the default run covers a representative set).
pytest-slack-modes: install
	RUNBOOK_TEST_ALL_SLACK_MODES=1 $(VENV)/bin/pytest -q -p no:cacheprovider tests/integration/bot tests/integration/approvals
