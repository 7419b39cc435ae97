# Two commands do all the set-up on a fresh machine: `make book` and `make test`.
# Both create .venv when it is missing and (re)install only when the requirements change.

PYTHON  ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
BUILD   := _build
JB_FLAGS := -n -W --keep-going

.PHONY: book test install clean chapter help notebooks screenshots lab lab-source bench lint release grade student-site pdf

# Coursework (coursework-guide.md): an assignment file, its submissions and where results go.
ASSIGNMENT  ?= coursework/sample.yml
SUBMISSIONS ?= submissions
COURSEWORK  ?= $(BUILD)/coursework
JOBS        ?= $(shell nproc 2>/dev/null || echo 2)

help:
	@echo "make book     - install into .venv, execute every chapter, build the site into $(BUILD)/html"
	@echo "make test     - install into .venv, then run ruff and the whole test suite"
	@echo "make lint     - ruff check and ruff format --check on every Python file"
	@echo "make chapter CH=chapters/what-is-a-loss.md - execute one chapter alone"
	@echo "make notebooks - build the book, then copy every chapter's reader notebook into $(BUILD)/notebooks"
	@echo "make pdf      - build the site, then print the whole course into $(BUILD)/pdf/loss-functions.pdf (SOLUTIONS=omit: without solutions)"
	@echo "make screenshots - build the site and the PDF, then a PNG of every page, laptop and phone, light and dark (and of make lab), and of a few PDF pages, into $(BUILD)/screenshots"
	@echo "make lab      - start JupyterLab on the chapters' reader notebooks, copied into notebooks/"
	@echo "make lab-source - start JupyterLab on the repository, to edit a chapter's MyST source as a notebook"
	@echo "make bench    - time every loss and gradient against single-threaded PyTorch"
	@echo "make release  - student notebooks and manifest of ASSIGNMENT=$(ASSIGNMENT) into $(COURSEWORK)/release"
	@echo "make grade    - grade SUBMISSIONS=$(SUBMISSIONS)/STUDENT/NAME.ipynb into $(COURSEWORK)/grades [ONLY=a,b]"
	@echo "make student-site - the book without solutions into $(BUILD)/student-site, leak-checked"
	@echo "make clean    - remove build outputs (keeps .venv)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# The stamp is newer than the files it depends on once they are installed.
$(STAMP): requirements.txt pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# JupyterLab reads setting overrides from <config dir>/labconfig, and .venv/etc/jupyter is one:
# copied there, `jupyter lab` from the venv opens chapters (.md) as notebooks on a double-click.
LABCONFIG := $(VENV)/etc/jupyter/labconfig/default_setting_overrides.json
$(LABCONFIG): .jupyter/labconfig/default_setting_overrides.json | $(BIN)/python
	mkdir -p $(dir $@)
	cp $< $@

install: $(STAMP) $(LABCONFIG)

book: $(STAMP)
	$(BIN)/python scripts/build_book.py --jobs auto . $(JB_FLAGS)
	@echo "The site is at $(abspath $(BUILD))/html/index.html"

test: $(STAMP) lint
	$(BIN)/python -m pytest

# Lint and layout of every Python file (configured in pyproject.toml); `.venv/bin/ruff format .`
# and `.venv/bin/ruff check --fix .` repair most of what they report.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Time every lossutils loss and gradient against PyTorch on one thread (minutes; a script, not a
# test: timings depend on the machine and its load, which it prints).
bench: $(STAMP)
	$(BIN)/python benchmarks/bench_losses.py

# Execute one chapter in a fresh kernel, as a student would in Jupyter.
chapter: $(STAMP)
	@test -n "$(CH)" || (echo "usage: make chapter CH=chapters/NAME.md" && exit 2)
	$(BIN)/python scripts/run_chapter.py $(CH)

# One reader notebook per chapter of the toc, as students download them (and Colab opens): the
# book build writes them (editions/sphinx.py) with its numbers; this copies them out.
notebooks: book
	$(BIN)/python scripts/notebooks.py --site $(BUILD)/html --out $(BUILD)/notebooks

# The whole course as one PDF, printed from the built site by Chromium (no TeX): front matter,
# numbered parts and chapters, the exercises' solutions in an appendix (SOLUTIONS=omit leaves
# them out). Also copied to the site's root, where every page's download menu links it.
SOLUTIONS ?= appendix
pdf: book
	$(BIN)/python scripts/pdf.py --site $(BUILD)/html --out $(BUILD)/pdf/loss-functions.pdf --solutions $(SOLUTIONS)

# Full-page PNGs of every page of the site, on a laptop (1280 px) and a phone (390 px), light and
# dark, of a chapter opened from `make lab`, and of a few pages of the PDF, for review (needs
# Debian's chromium).
screenshots: notebooks pdf
	$(BIN)/python scripts/screenshots.py --site $(BUILD)/html --notebooks $(BUILD)/notebooks --pdf $(BUILD)/pdf/loss-functions.pdf --out $(BUILD)/screenshots

# Students: the reader notebooks in JupyterLab. Each is copied into notebooks/ only when it is not
# there yet, so that the notes and answers saved in it survive the next `make lab`.
LAB_DIR := notebooks
lab: install notebooks
	mkdir -p $(LAB_DIR)
	for nb in $(BUILD)/notebooks/*.ipynb; do \
	  test -e $(LAB_DIR)/$$(basename $$nb) || cp $$nb $(LAB_DIR)/; \
	done
	@echo "JupyterLab serves $(LAB_DIR)/; a notebook already there is kept (delete it for a fresh copy)."
	$(BIN)/jupyter lab --ServerApp.root_dir=$(LAB_DIR)

# Authors: JupyterLab on the repository; a double-click opens a chapter's .md as a notebook
# (jupytext) and saving writes MyST back.
lab-source: install
	$(BIN)/jupyter lab

# Coursework: release student notebooks, grade submissions, build the solution-free site.
release: $(STAMP)
	$(BIN)/python -m coursework release $(ASSIGNMENT) --out $(COURSEWORK)/release

grade: $(STAMP)
	$(BIN)/python -m coursework grade $(ASSIGNMENT) $(SUBMISSIONS) --out $(COURSEWORK)/grades --jobs $(JOBS) $(if $(ONLY),--only $(ONLY))

student-site: $(STAMP)
	$(BIN)/python -m coursework student-site --out $(BUILD)/student-site

clean:
	rm -rf $(BUILD) .jupyter_cache .pytest_cache .hypothesis
