# Neural Networks from First Principles: the two commands readers and CI use.
#   make book   set up .venv, execute every chapter, build the HTML into _build/html
#   make pdf    the whole book as one PDF, _build/pdf/neural-networks-from-first-principles.pdf
#               (needs TeX: see TEX_PACKAGES), from the notebooks the HTML build executed
#   make test   set up .venv, then ruff, unit tests, every chapter under nbval, the book
#               build, its internal links, the PDF and the browser checks; ends with pytest's summary

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: book test venv lint build-book linkcheck linkcheck-internal pytest assignments bench clean \
	pdf test-pdf

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

# The PDF: Jupyter Book's LaTeX builder (XeLaTeX through latexmk) over the notebooks the HTML
# build executed (scripts/pdf_sources.py lays them out in _build/pdf-src with their outputs,
# execution off), so no chapter runs twice. Without an up-to-date HTML build, `make book`
# runs first. The PDF is also copied into the site, whose "How to use" page links to it.
# TeX comes from Debian: apt-get install $(TEX_PACKAGES)
TEX_PACKAGES = texlive-latex-recommended texlive-latex-extra texlive-fonts-recommended \
	texlive-xetex fonts-freefont-otf latexmk poppler-utils
PDF_NAME = neural-networks-from-first-principles.pdf

pdf: $(STAMP)
	$(BIN)/python scripts/pdf_sources.py || { test $$? = 3 && $(MAKE) book && \
	  $(BIN)/python scripts/pdf_sources.py; }
	cd _build/pdf-src && LATEXMKOPTS="-interaction=nonstopmode -halt-on-error" \
	  ../../$(BIN)/jupyter-book build . --builder pdflatex -W -n --keep-going
	mkdir -p _build/pdf _build/html
	cp _build/pdf-src/_build/latex/book.pdf _build/pdf/$(PDF_NAME)
	cp _build/pdf-src/_build/latex/book.log _build/pdf/latex.log
	cp _build/pdf/$(PDF_NAME) _build/html/$(PDF_NAME)
	@echo "PDF: _build/pdf/$(PDF_NAME), $$(pdfinfo _build/pdf/$(PDF_NAME) 2>/dev/null | \
	  sed -n 's/^Pages: *//p') pages, $$(du -h _build/pdf/$(PDF_NAME) | cut -f1)"

# In `make test`: build the PDF where TeX is installed, else say how to install it
# (tests/test_pdf.py then skips; .ci/run sets NNFP_REQUIRE_PDF=1, which makes that fail).
test-pdf: $(STAMP)
	@if command -v xelatex >/dev/null && command -v latexmk >/dev/null; then \
	  $(MAKE) --no-print-directory pdf; \
	else \
	  echo "make test: no TeX, so no PDF. Install it with: apt-get install $(TEX_PACKAGES)"; \
	  rm -f _build/pdf/$(PDF_NAME) _build/html/$(PDF_NAME); \
	fi

pytest: $(STAMP) $(VENV)/.bench-installed
	NNLIB_DATA_SOURCE=sample MPLBACKEND=Agg $(BIN)/python -m pytest tests chapters --nbval-lax

test: lint build-book linkcheck-internal test-pdf pytest

# Every chapter's exercises as an otter-grader assignment, in _build/assignments/<chapter>/.
assignments: $(STAMP)
	$(BIN)/python classroom/make_assignments.py

bench: $(VENV)/.bench-installed
	$(BIN)/python benchmarks/speed.py

clean:
	rm -rf _build
