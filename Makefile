# Papers from Scratch: `make lab` to learn, `make test` to check, `make reproduce` for the evidence.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9][0-9]_*.ipynb))
BUILD  := build
# Small torch models run 10-40x faster with one thread on small CPUs (course.setup does the same).
TEST_ENV := COURSE_FAST=1 OMP_NUM_THREADS=1 MPLBACKEND=Agg PYDEVD_DISABLE_FILE_VALIDATION=1
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: setup lab test unit notebooks reproduce report lint strip clean

setup: $(STAMP)

# Re-install only when the venv is missing or pyproject.toml changed.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

lab: setup
	@echo "Opening JupyterLab in notebooks/ (the URL with its token is printed below)."
	$(BIN)/jupyter lab --notebook-dir=notebooks $(ROOT_FLAG)

# Unit tests of course/, notebook hygiene, then every notebook executed in FAST mode (nbval),
# then checks that each notebook wrote its reproduction card: one pytest session, one verdict.
test: setup
	$(TEST_ENV) $(BIN)/python -m pytest tests notebooks --nbval-lax --nbval-cell-timeout=600 -p no:cacheprovider

unit: setup
	$(TEST_ENV) $(BIN)/python -m pytest tests -p no:cacheprovider

# FULL mode: papermill runs every notebook into build/ (git-ignored), then the report.
reproduce: setup
	@mkdir -p $(BUILD); failed=""; \
	for nb in $(NOTEBOOKS); do \
	  echo "== $$nb (FULL)"; \
	  OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} $(BIN)/papermill --cwd notebooks -p FAST False \
	    "$$nb" "$(BUILD)/$$(basename $$nb)" || failed="$$failed $$nb"; \
	done; \
	$(MAKE) --no-print-directory report; \
	if [ -n "$$failed" ]; then echo "FULL runs failed:$$failed"; exit 1; fi

report: setup
	$(BIN)/python -m course.results RESULTS.md

lint: setup
	$(BIN)/nbstripout --verify $(wildcard notebooks/*.ipynb)
	$(BIN)/python -m pytest tests/test_notebook_hygiene.py -q -p no:cacheprovider

# Strip outputs before committing (keeps cells marked keep_output for nbval).
strip: setup
	$(BIN)/nbstripout $(wildcard notebooks/*.ipynb)

clean:
	rm -rf $(BUILD) .pytest_cache notebooks/.ipynb_checkpoints
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
