# closelib: the two commands are `make close` and `make test`; both set themselves up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO := demo-book
PERIOD ?=
# extra options for JupyterLab, e.g. make lab LAB_ARGS="--port 8899 --no-browser"
LAB_ARGS ?=

.PHONY: close test lint lab bench demo setup clean-venv screenshots

# A venv in the repo, closelib installed editable with its test, lab and cluster extras, and the
# python3 Jupyter kernel registered inside the venv (papermill runs kernel "python3").
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "closelib needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,lab,cluster]'
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (closelib)" >/dev/null
	@touch $(STAMP)

setup: $(STAMP)

# closelib's bytecode, compiled ahead (only what changed since; a tenth of a second): where
# PYTHONDONTWRITEBYTECODE is set, as on some machines, every notebook worker and kernel of a run
# would otherwise compile closelib from its source again (about 0.2 s of CPU each).
BYTECODE = $(BIN)/python -m compileall -q closelib

$(DEMO)/customers.csv: $(STAMP)
	$(BIN)/close demo --out $(DEMO)

demo: $(DEMO)/customers.csv

close: $(DEMO)/customers.csv
	@$(BYTECODE)
	$(BIN)/close validate $(DEMO)
	@$(BIN)/python -m closelib.cli.close_target $(DEMO) $(PERIOD)

# one worker per core by default; a test file (and so a notebook's cells) stays on one worker
TEST_WORKERS ?= 2
test: lint
	@$(BYTECODE)
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile

# ruff (lint and format) and mypy over the package, configured in pyproject.toml
lint: $(STAMP)
	$(BIN)/ruff check closelib tests benchmarks notebooks/conftest.py
	$(BIN)/ruff format --check closelib tests benchmarks notebooks/conftest.py
	$(BIN)/mypy

lab: $(STAMP) $(DEMO)/customers.csv
	@echo "JupyterLab on the notebooks; the run folders are under outputs/ in the same file browser"
	$(BIN)/jupyter lab --ServerApp.root_dir=. --LabApp.default_url=/lab/tree/notebooks $(if $(filter 0,$(shell id -u)),--allow-root,) $(LAB_ARGS)

# Optional (not part of make test): headless Chromium renders the period binder and every reviewer
# HTML of the current run at 1400 px to PNG under outputs/scratch/screenshots/<RUN_ID>/.
screenshots: $(STAMP)
	$(BIN)/python -m closelib.cli.screenshots $(SCREENSHOT_ARGS)

bench: $(STAMP)
	@$(BYTECODE)
	$(BIN)/python -m benchmarks

clean-venv:
	rm -rf $(VENV)
