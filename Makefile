# Neural Networks from First Principles: the two commands readers and CI use.
#   make book   set up .venv, execute every chapter, build the HTML into _build/html
#   make test   set up .venv, then ruff, unit tests, every chapter under nbval, the book
#               build, its internal links and the browser checks; ends with pytest's summary

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: book test venv lint build-book linkcheck pytest assignments bench clean

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

book: $(STAMP)
	$(BIN)/jupyter-book build . -W -n --keep-going
	@echo "Open _build/html/index.html"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check nnlib tests benchmarks scripts

# The test build uses the embedded MNIST sample: fast, repeatable, and no download.
build-book: $(STAMP)
	NNLIB_DATA_SOURCE=sample $(BIN)/jupyter-book build . -W -n --keep-going

# External links: needs the internet, so it is not part of `make test` (CI has none);
# tests/browser/test_links.py checks every internal link and anchor of the built book.
# The chapters are not executed for this, so their glued numbers are missing: hush that.
linkcheck: $(STAMP)
	$(BIN)/python -c "import yaml; c = yaml.safe_load(open('_config.yml')); \
	  c['execute']['execute_notebooks'] = 'off'; \
	  c['sphinx']['config'].setdefault('suppress_warnings', []).append('mystnb.glue'); \
	  yaml.safe_dump(c, open('_linkcheck_config.yml', 'w'))"
	$(BIN)/jupyter-book build . --builder linkcheck --config _linkcheck_config.yml; \
	  status=$$?; rm -f _linkcheck_config.yml; exit $$status

pytest: $(STAMP) $(VENV)/.bench-installed
	NNLIB_DATA_SOURCE=sample MPLBACKEND=Agg $(BIN)/python -m pytest tests chapters --nbval-lax

test: lint build-book pytest

# Every chapter's exercises as an otter-grader assignment, in _build/assignments/<chapter>/.
assignments: $(STAMP)
	$(BIN)/python classroom/make_assignments.py

bench: $(VENV)/.bench-installed
	$(BIN)/python benchmarks/speed.py

clean:
	rm -rf _build
