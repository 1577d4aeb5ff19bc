#!/usr/bin/env bash
# The whole test suite behind `make test` (run scripts/setup.sh first; make does).
#   1. the book: reuse _build if `make book` just built it from these sources, else build it
#      strictly now (scripts/build_book.sh) — the site and PDF tests need it;
#   2. ruff, the linter (pyproject.toml), then pytest tests/: library tests against PyTorch, committed notebooks are clean, the strict
#      build fails on a broken notebook and on bad TeX, the site in a real Chromium, the PDF;
#   3. pytest --nbmake -n 2 chapters/: every chapter runs top to bottom in a fresh kernel.
# pytest's exit code 5 ("no tests ran") is a failure here, like any other non-zero code.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
mkdir -p artifacts

run_pytest() {
  local rc=0
  python -m pytest "$@" || rc=$?
  if [ "$rc" -eq 5 ]; then
    echo "==> test: pytest $* collected no tests: that is a failure" >&2
  fi
  return "$rc"
}

start=$(date +%s)
if bash scripts/book_is_fresh.sh; then
  echo "==> test: reusing the strict build in _build/ (newer than every source)"
else
  echo "==> test: building the book first (the site and PDF tests need it)"
  bash scripts/build_book.sh
fi

echo "==> test: ruff check backprop_lib tests scripts _ext benchmarks chapters (configured in pyproject.toml)"
ruff check backprop_lib tests scripts _ext benchmarks chapters

echo "==> test: pytest tests/ (library with line coverage >= 95%, notebooks clean, strict build, site in Chromium, PDF)"
run_pytest -n 2 --cov=backprop_lib --cov-report=term --cov-fail-under=95 tests/

echo "==> test: pytest --nbmake -n 2 chapters/ (every chapter in a fresh kernel)"
run_pytest --nbmake --nbmake-timeout=600 -n 2 -p no:cacheprovider chapters/

echo "==> test: all passed in $(( $(date +%s) - start )) s; artifacts in artifacts/"
