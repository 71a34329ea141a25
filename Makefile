# Neural Networks from First Principles: the two commands readers and CI use.
#   make book   set up .venv, execute every chapter, build the HTML into _build/html
#   make test   set up .venv, then ruff, unit tests, every chapter under nbval, the book
#               build, its internal links, every chapter in Colab's runtimes (colab-check)
#               and the browser checks; ends with pytest's summary

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: book test venv lint build-book linkcheck linkcheck-internal pytest assignments bench clean

# (Re)install whenever a requirements file or pyproject.toml changes.
$(STAMP): requirements.txt requirements-bench.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

venv: $(STAMP)

# PyTorch is an outside reference for tests and benchmarks only; `make book` never needs it.
$(VENV)/.bench-installed: $(STAMP) requirements-bench.txt
	$(BIN)/python -m pip install --quiet -r requirements-bench.txt
	touch $@

# First writes _config.yml's repository.nnlib_ref into every chapter's Colab cell.
book: $(STAMP)
	$(BIN)/python scripts/colab_check.py stamp
	$(BIN)/jupyter-book build . -W -n --keep-going
	@echo "Open _build/html/index.html"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check nnlib tests benchmarks scripts

# The test build uses the embedded MNIST sample: fast, repeatable, and no download.
build-book: $(STAMP)
	NNLIB_DATA_SOURCE=sample $(BIN)/jupyter-book build . -W -n --keep-going

# Sphinx linkcheck from the sources, without executing the chapters again (their glued
# numbers are then missing: that warning is hushed). `make linkcheck-internal`, part of
# `make test`, needs no network: every http(s) URL is skipped, and local links (to files,
# pages, anchors) are checked. `make linkcheck` also checks the external URLs: run it online.
# tests/browser/test_links.py checks every link and anchor of the built HTML as well.
LINKCHECK = $(BIN)/python -c "import sys, yaml; c = yaml.safe_load(open('_config.yml')); \
	  s = c['sphinx']['config']; c['execute']['execute_notebooks'] = 'off'; \
	  s.setdefault('suppress_warnings', []).append('mystnb.glue'); \
	  s['linkcheck_ignore'] = ['https?://.*'] if sys.argv[1] == 'internal' else []; \
	  yaml.safe_dump(c, open('_linkcheck_config.yml', 'w'))"
LINKCHECK_BUILD = $(BIN)/jupyter-book build . --builder linkcheck --config _linkcheck_config.yml \
	  --path-output _build/linkcheck

linkcheck-internal: $(STAMP)
	$(LINKCHECK) internal
	$(LINKCHECK_BUILD) -W --keep-going; status=$$?; rm -f _linkcheck_config.yml; exit $$status

linkcheck: $(STAMP)
	$(LINKCHECK) all
	$(LINKCHECK_BUILD); status=$$?; rm -f _linkcheck_config.yml; exit $$status

pytest: $(STAMP) $(VENV)/.bench-installed
	NNLIB_DATA_SOURCE=sample MPLBACKEND=Agg $(BIN)/python -m pytest tests chapters --nbval-lax

# Every chapter from its setup cell, as a Colab reader runs it, in each of Colab's runtimes
# (colab/constraints-*.txt: Google's published pip freeze; Python 3.13 and 3.12 from pyenv) and
# with nnlib's oldest declared dependencies (Python 3.11); fails if installing nnlib changes a
# package Colab ships. Virtual environments in _build/colab/. See scripts/colab_check.py.
colab-check: $(STAMP)
	$(BIN)/python scripts/colab_check.py

test: lint build-book linkcheck-internal colab-check pytest

# Every chapter's exercises as an otter-grader assignment, in _build/assignments/<chapter>/.
assignments: $(STAMP)
	$(BIN)/python classroom/make_assignments.py

bench: $(VENV)/.bench-installed
	$(BIN)/python benchmarks/speed.py

clean:
	rm -rf _build
