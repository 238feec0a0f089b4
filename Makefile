# Every target works from a fresh clone: the virtualenv is created and filled on first use.
# `.venv` is also the virtualenv Pulumi.yaml names, so `pulumi up` in the root runs the same one.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUNTIME := $(VENV)/.installed-runtime
DEV := $(VENV)/.installed-dev

.PHONY: demo test test-all lint bench reliability clean

# Runtime dependencies only (pulumi, requests, urllib3, pydantic, PyYAML): all the demo and quickstart need.
# Python 3.10 or newer: a PYTHON too old is named in one line, and a virtualenv of an older (or
# removed) Python, say from a first try with one, is made anew; so is one without pip (`uv venv`,
# `venv --without-pip`, or a first try whose Python lacked ensurepip), which pip could not fill.
PY310 := import sys; sys.exit(sys.version_info < (3, 10))
$(RUNTIME): pyproject.toml provider/pulumi_modelarts/__init__.py $(BIN)/python
	@"$(PYTHON)" -c '$(PY310)' || { echo "make: $(PYTHON) is not Python 3.10 or newer: name one, e.g. \
	make $(or $(MAKECMDGOALS),demo) PYTHON=python3.12" >&2; exit 1; }
	$(BIN)/python -c 'import pip; $(PY310)' 2>/dev/null || "$(PYTHON)" -m venv --clear $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e .
	touch $@

# No recipe: when the virtualenv's interpreter is gone (its Python removed or upgraded away), make takes
# it as changed and the rule above makes the virtualenv anew, though its stamp is newer than pyproject.toml.
$(BIN)/python:

# Plus the [dev] extras: test, lint and type-check tools, and huaweicloudsdkcore as the signing oracle.
$(DEV): $(RUNTIME)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

demo: $(RUNTIME)
	$(BIN)/python scripts/demo.py

lint: $(DEV)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	for program in examples/*/__main__.py; do $(BIN)/mypy "$$program" || exit 1; done

# Tests marked `slow` (over about 2 s each) are left out here; `make test-all` runs them too. Most
# tests wait on servers, back-offs and provider processes: three workers per core (at most 8) keep
# the cores busy (on 2 cores six workers took about a quarter less time than four: 87-93 s against
# 115-130 s when measured; the README's Development table says how long `make test` takes now).
WORKERS := $(shell nproc 2>/dev/null | awk '{ n = 3 * $$1; print (n > 8 ? 8 : n) }')
PYTEST := $(BIN)/pytest -q -n $(or $(WORKERS),2)
test: lint
	$(PYTEST) -m "not slow"

# Everything, as CI runs it (.ci/run): the README's `make test`, then the slow tests.
test-all: test
	$(PYTEST) -m slow

# Measured speed, each figure against a baseline taken in the same run (docs/performance.md).
bench: $(DEV)
	$(BIN)/python -m benchmarks

# The tests marked reliability (fault matrix, fuzz, soak, secrets, hostile servers) at full size,
# with a report of what each class tried; `make test` runs them small.
reliability: $(DEV)
	$(BIN)/python -m reliability

# The demo's stack config goes only when it holds what `make demo` writes there (scripts/demo.py tells,
# as before each demo): a stack of the user's own named `demo` keeps it, as does any without a
# virtualenv to tell.
clean:
	if [ -x $(BIN)/python ]; then $(BIN)/python scripts/demo.py --clean || :; fi
	rm -rf $(VENV) build .pytest_cache .mypy_cache .ruff_cache .hypothesis .pulumi-demo
