# Two commands do all the set-up on a fresh machine: `make book` and `make test`.
# Both create .venv when it is missing and (re)install only when the requirements change.

PYTHON  ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
BUILD   := _build
JB_FLAGS := -n -W --keep-going

.PHONY: book test install clean chapter help

help:
	@echo "make book     - install into .venv, execute every chapter, build the site into $(BUILD)/html"
	@echo "make test     - install into .venv, then run the whole test suite"
	@echo "make chapter CH=chapters/what-is-a-loss.md - execute one chapter alone"
	@echo "make clean    - remove build outputs (keeps .venv)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# The stamp is newer than the files it depends on once they are installed.
$(STAMP): requirements.txt pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

book: $(STAMP)
	$(BIN)/jupyter-book build . $(JB_FLAGS)
	@echo "The site is at $(abspath $(BUILD))/html/index.html"

test: $(STAMP)
	$(BIN)/python -m pytest

# Execute one chapter in a fresh kernel, as a student would in Jupyter.
chapter: $(STAMP)
	@test -n "$(CH)" || (echo "usage: make chapter CH=chapters/NAME.md" && exit 2)
	$(BIN)/jupytext --to ipynb --execute --output $(BUILD)/chapter.ipynb $(CH)

clean:
	rm -rf $(BUILD) .jupyter_cache .pytest_cache .hypothesis
