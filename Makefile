# The README's commands. Each first runs scripts/setup.sh (idempotent: Debian packages,
# .venv with pinned Python packages, KaTeX from npm), then:
#   make book  strict build: website in _build/html/, PDF in _build/latex/
#   make test  every test: library, notebooks (nbmake), strict build, site (Chromium), PDF
#   make lab   JupyterLab on the chapters, with the project's environment (Python packages
#              only: no system package, no root; see the README for the same with pip alone)
SHELL := /bin/bash
.DEFAULT_GOAL := help
export PATH := $(CURDIR)/.venv/bin:$(PATH)

.PHONY: help setup book test lab clean

help:
	@echo "make book   build the website (_build/html) and the PDF (_build/latex) strictly"
	@echo "make test   run every test (builds the book first if needed)"
	@echo "make lab    open the chapters in JupyterLab"
	@echo "make clean  remove _build and artifacts"

setup:
	@bash scripts/setup.sh

book: setup
	@bash scripts/build_book.sh

test: setup
	@bash scripts/test.sh

lab:
	@SETUP_EXTRA=lab SETUP_PYTHON_ONLY=1 bash scripts/setup.sh
	.venv/bin/jupyter lab --notebook-dir=chapters

clean:
	rm -rf _build artifacts
