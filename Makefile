# acdc-bench: `make run` runs the default experiment, `make test` the test suite.
# Both first set up whatever is missing (Debian packages, .venv, the project).
VENV := .venv
PY := $(VENV)/bin/python
ARGS ?=

.PHONY: setup run test lint clean

setup:
	@bash scripts/setup.sh

run: setup
	$(VENV)/bin/acdc-bench $(ARGS)

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ruff check .

clean:
	rm -rf runs multirun outputs .pytest_cache
