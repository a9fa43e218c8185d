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

.PHONY: setup lab test unit reproduce report lint strip clean

# The exact versions the course is tested with (core + dev): made by `make lock`, installed by setup.
LOCK   := requirements/lock.txt
# torch build: auto (the CPU build on Linux without an NVIDIA GPU), or force it: make setup TORCH=cpu|cuda
TORCH  ?= auto

setup: $(STAMP)

# Re-install when the venv is missing, pyproject.toml or the lock changed, or TORCH= is given.
# 1. torch at the lock's version, in the build tools/torch_choice.py picks (it says which and why);
# 2. everything else exactly as locked (--no-deps: the lock is complete, and it leaves out torch's
#    CUDA-only libraries, which a CUDA torch brings in step 1);
# 3. the course itself, editable, held to the lock (installs nothing unless pyproject.toml gained
#    a dependency that the lock lacks: then run `make lock`).
$(STAMP): pyproject.toml $(LOCK) tools/torch_choice.py $(if $(filter-out auto,$(TORCH)),FORCE)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python tools/torch_choice.py --torch "$(TORCH)" --lock $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -r $(LOCK)
	$(BIN)/python -m pip install --quiet -c $(LOCK) -e ".[dev]"
	@touch $(STAMP)

# Re-lock after changing a dependency in pyproject.toml: keeps every other pin as it is
# (`make lock UPGRADE=1` moves all to the newest versions the ranges allow). uv resolves from
# PyPI for every platform and Python 3.10-3.13, core + dev; torch's CUDA-only libraries
# (nvidia-*, cuda-*, triton) are found in a first pass and left out of the lock.
LOCK_ARGS := pyproject.toml --extra dev --universal --python-version 3.10 --quiet $(if $(UPGRADE),--upgrade)
.PHONY: lock FORCE
lock:
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "uv>=0.9,<1"
	@mkdir -p $(dir $(LOCK)); cp $(LOCK) $(VENV)/lock-with-cuda.txt 2>/dev/null || true
	$(BIN)/uv pip compile $(LOCK_ARGS) --no-annotate --no-header -o $(VENV)/lock-with-cuda.txt
	grep -oE '^(nvidia-|cuda-|triton)[^=]*' $(VENV)/lock-with-cuda.txt | sort -u > $(VENV)/cuda-only.txt
	$(BIN)/uv pip compile $(LOCK_ARGS) --excludes $(VENV)/cuda-only.txt \
	  --custom-compile-command "make lock" -o $(LOCK)
	@echo "Wrote $(LOCK): torch $$(sed -n 's/^torch==\([^ ;]*\).*/\1/p' $(LOCK)), $$(grep -c '^[a-z0-9]' $(LOCK)) pins."
FORCE:

# `make lab FAST=1`: every notebook in FAST mode (COURSE_FAST=1 in the lab's environment, which its
# kernels inherit): for class. Default FULL, for self-study. course.setup() prints the mode in force.
LAB_FAST := $(if $(filter 1 true yes on,$(FAST)),COURSE_FAST=1,)
lab: setup
	@echo "Opening JupyterLab in notebooks/ in $(if $(LAB_FAST),FAST,FULL) mode ($(if $(LAB_FAST),make lab for FULL,make lab FAST=1 for FAST)); the URL with its token is printed below."
	$(LAB_FAST) $(BIN)/jupyter lab --notebook-dir=notebooks $(ROOT_FLAG)

# Optional dependency groups (pyproject.toml), held to the lock where they share packages with it:
# teach = nbgrader (`make student`; `make test` installs it for tests/test_make_student.py and test_nbgrader.py),
# browser = Playwright (`make browser-test`). Defined here, before `test`, which names one.
TEACH_STAMP   := $(VENV)/.teach-stamp
BROWSER_STAMP := $(VENV)/.browser-stamp
$(TEACH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -c $(LOCK) -e ".[teach]"
	@touch $@
$(BROWSER_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -c $(LOCK) -e ".[browser]"
	@touch $@
# site = Sphinx + MyST-NB (`make site`; `make test` installs it for tests/test_site.py).
SITE_STAMP := $(VENV)/.site-stamp
$(SITE_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -c $(LOCK) -e ".[site]"
	@touch $@

# Student copies in build/student/: nbgrader's preprocessors replace each solution region by
# `raise NotImplementedError()` and keep the check cells, and the Markdown cells tagged `solution`
# (collapsed answers) are left out; an untagged answer stops it (tools/make_student.py). Hand them
# out as they are (students put them in place of notebooks/).
.PHONY: student browser-test
student: $(TEACH_STAMP)
	$(BIN)/python tools/make_student.py --out $(BUILD)/student

# An nbgrader course of one notebook in build/nbgrader-demo/ (nbgrader_config.py: FAST, 300 s a cell,
# cards outside results/): generate_assignment, then autograde of the solved notebook and of the
# student copy, and the gradebook's scores (LECTURES.md, "Grading with nbgrader").
.PHONY: nbgrader-demo
nbgrader-demo: $(TEACH_STAMP)
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} $(BIN)/python tools/nbgrader_roundtrip.py notebooks/05_action.ipynb --course $(BUILD)/nbgrader-demo

# Every notebook run in JupyterLab in headless Chromium, FAST mode: fails on an error output,
# "Error displaying widget" or figures that do not show; screenshots in build/browser/
# (tools/browser_test.py). Installs Debian's chromium when missing (as root, as in CI).
browser-test: $(BROWSER_STAMP)
	@test -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; \
	  else echo "browser-test needs Debian's chromium: sudo apt-get install chromium"; exit 1; fi; }
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} $(BIN)/python tools/browser_test.py --out $(BUILD)/browser

# Unit tests of course/, notebook hygiene, then every notebook executed in FAST mode (nbval),
# then checks that each notebook wrote its reproduction card: one pytest session, one verdict.
test: setup $(SITE_STAMP) $(TEACH_STAMP)
	$(TEST_ENV) $(BIN)/python -m pytest tests notebooks --nbval-lax --nbval-cell-timeout=600 -p no:cacheprovider

# The unit tests alone: those that need the site or teach extras skip when they are missing.
unit: setup
	$(TEST_ENV) $(BIN)/python -m pytest tests -p no:cacheprovider

# FULL mode: papermill runs every notebook into build/ (git-ignored), then the report.
JOBS ?= 2
reproduce: setup
	@mkdir -p $(BUILD)
	@# tools/run_notebook.py: each notebook in a fresh kernel into build/ (FAST=1: build/fast/), then a
	@# table of wall time and peak memory (the kernel's max RSS) per notebook; FULL runs end with the report.
	@# JOBS notebooks at a time (default 2: one thread each on a 2-core machine), longest first.
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} $(BIN)/python tools/run_notebook.py --jobs $(JOBS) \
	  $(if $(filter 1 true yes on,$(FAST)),--fast,--full) $(NOTEBOOKS); status=$$?; \
	$(if $(filter 1 true yes on,$(FAST)),,$(BIN)/python -m course.report RESULTS.md;) exit $$status

# The Pong agent of 11 and 12 (tools/pretrain_pong.py): trains, or continues from its checkpoint in
# build/pretrain/, to its frame budget; MINUTES=30 stops a sitting after 30 minutes (it checkpoints
# every 5). `make pretrain SHIP=1` scores it over 10 greedy games (no-op starts 0-27) and writes data/weights/pong_agent.*.
.PHONY: pretrain
pretrain: setup
	COURSE_RECORD=1 $(BIN)/python tools/pretrain_pong.py $(if $(MINUTES),--minutes $(MINUTES)) \
	  $(if $(SHIP),--evaluate 10 --ship)

# The course as a website in build/site/ (Sphinx + MyST-NB, site/conf.py): the executed notebooks
# (FULL from build/ after `make reproduce`, else a FAST run made now), README, LECTURES, RESULTS.
.PHONY: site
site: setup $(SITE_STAMP)
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} $(BIN)/python tools/build_site.py
	@echo "Open build/site/index.html in a browser."

report: setup
	$(BIN)/python -m course.report RESULTS.md

lint: setup
	$(BIN)/nbstripout --verify $(wildcard notebooks/*.ipynb)
	$(BIN)/python -m pytest tests/test_notebook_hygiene.py -q -p no:cacheprovider

# Strip outputs before committing (keeps cells marked keep_output for nbval).
strip: setup
	$(BIN)/nbstripout $(wildcard notebooks/*.ipynb)

clean:
	rm -rf $(BUILD) .pytest_cache notebooks/.ipynb_checkpoints
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
