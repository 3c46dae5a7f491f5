# lossbook: two commands do all the set-up on a fresh machine with Python 3.11 and make.
#   make book   executes every chapter and builds the site into _build/html
#   make test   installs the system programs the tests need (bubblewrap, chromium, postgresql;
#               see tools/system-deps.sh), then runs the whole test suite
# The exact versions of everything live in requirements.txt (the one place with pins).

PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
JOBS   ?= 2
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: help venv system-deps book test test-fast exercises bench bench-losses bench-course bench-grading clean

help:
	@echo "make book       build the book into _build/html (executes every page)"
	@echo "make test       run the whole test suite"
	@echo "make test-fast  library tests only (seconds)"
	@echo "make system-deps  install bubblewrap, chromium and postgresql if missing (make test does it first)"
	@echo "make exercises  regenerate exercises/ from solutions/ with nbgrader"
	@echo "make bench      benchmarks: losses vs references, course run times, grading (results in bench/results/)"
	@echo "make clean      remove build outputs (keeps .venv)"

venv: $(STAMP)

# Two distributions, both editable: lossbook (the library, .) and lossbook-grader (grader/, the
# instructor's grader with the lossbook-grade command).
$(STAMP): requirements.txt pyproject.toml grader/pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found; install Python 3.11 or run 'make PYTHON=python3 ...'"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e . -e grader
	touch $(STAMP)

# tools/build_book.py: every page executed fresh (several at a time), then jupyter-book -W -n.
book: $(STAMP)
	$(BIN)/python tools/build_book.py
	@echo "The book is in _build/html/index.html"

# bubblewrap (the grading sandbox), chromium (the browser tests) and the PostgreSQL server (the
# grading tests start their own, tests/grader/servers.py): installed with apt-get where possible,
# else a stop within a second that says what is missing and how to install it.
system-deps:
	@bash tools/system-deps.sh bwrap chromium postgres

test: system-deps $(STAMP)
	$(BIN)/python -m pytest -n $(JOBS) --dist loadgroup --durations=30

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow" lossbook grader tests

# Benchmarks (not tests). The loss table and the course run times go to bench/results/*.json,
# which the book's Performance page renders; the grading timings go to _build/bench/.
bench: bench-losses bench-course bench-grading

bench-losses: $(STAMP)
	$(BIN)/python bench/losses.py --out bench/results/losses.json

bench-course: $(STAMP)
	$(BIN)/python bench/course.py --out bench/results/course.json

bench-grading: $(STAMP)
	@bash tools/system-deps.sh bwrap
	$(BIN)/python bench/ban.py
	$(BIN)/python bench/grading.py --students 40 --jobs 2

exercises: $(STAMP)
	$(BIN)/python tools/sync_setup_cells.py
	$(BIN)/python tools/generate_exercises.py

clean:
	rm -rf _build gradebook.db .pytest_cache
