# markov-icl: `make demo` and `make test` each create .venv if missing and install.
# The CPU build of PyTorch is pinned here (override: make test TORCH="torch==2.5.1", or
# TORCH="torch --index-url ..." for a GPU build); pyproject.toml keeps a range.
PYTHON ?= python3
VENV ?= .venv
TORCH ?= torch==2.13.0
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install demo test lint typecheck docs tree bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "$(TORCH)"
	$(PY) -m pip install -q -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

DOCS_STAMP := $(VENV)/.installed-docs
$(DOCS_STAMP): pyproject.toml $(STAMP)
	$(PY) -m pip install -q -e ".[docs]"
	touch $(DOCS_STAMP)

# the installed layout of the package as links into the source folders (mypy and the API reference read it)
tree: install
	$(PY) .ci/package_tree.py build/tree >/dev/null

demo: install
	$(VENV)/bin/markov-icl --version
	$(VENV)/bin/markov-icl objective --d 1
	$(VENV)/bin/markov-icl objective --d 1 --p 1/2 --n 5
	$(VENV)/bin/markov-icl objective --d 2 --p 1/2 --n 10
	$(VENV)/bin/markov-icl realize --d 1 --p 1/2 --n 5
	$(VENV)/bin/markov-icl derive all --out build/derivations
	@test -f build/derivations/report.pdf \
	  && echo "report.pdf: $(CURDIR)/build/derivations/report.pdf" \
	  || echo "no report.pdf (no pdflatex: apt-get install texlive-latex-base texlive-latex-recommended latexmk); LaTeX source: $(CURDIR)/build/derivations/report.tex"

test: install
	$(PY) -m pytest -q

lint: install typecheck
	$(VENV)/bin/ruff check markov_icl symbolic numeric derivations experiments tests benchmarks conftest.py examples docs .ci

# mypy on the public modules ([tool.mypy] in pyproject.toml); paths are printed as build/tree/markov_icl/...
typecheck: tree
	$(VENV)/bin/mypy

# the documentation site with the API reference, warnings as errors (mkdocs.yml); open build/site/index.html
docs: $(DOCS_STAMP) tree
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet
	@echo "site: $(CURDIR)/build/site/index.html"

bench: install
	$(PY) benchmarks/objective.py
	$(PY) benchmarks/objective_phases.py --ds 1-10
	$(PY) benchmarks/symbolic.py
	$(PY) benchmarks/exports.py --quick

clean:
	rm -rf build dist .pytest_cache .ruff_cache
