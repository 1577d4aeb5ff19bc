#!/usr/bin/env bash
# Exit 0 when _build holds a complete strict build newer than every source it was built from
# (so `make test` can reuse the book `make book` just built), 1 otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=_build/.book-stamp
[ -f "$stamp" ] || exit 1
[ -f _build/html/index.html ] || exit 1
[ -f _build/latex/backprop-derived.pdf ] || exit 1
newer=$(find _config.yml _toc.yml intro.md references.bib chapters backprop_lib _ext _latex _templates _static \
             package-lock.json pyproject.toml constraints.txt scripts/build_bundle.py benchmarks \
             -type f -newer "$stamp" -not -name '*.pyc' -not -path '*/__pycache__/*' -not -path '*/.ipynb_checkpoints/*' -print -quit 2>/dev/null || true)
[ -z "$newer" ] || { echo "book is older than $newer" >&2; exit 1; }
