#!/usr/bin/env bash
# Idempotent setup behind `make book` and `make test`.
#   1. Debian packages: TeX Live for the PDF (XeLaTeX) with its fonts (FreeSerif for text,
#      DejaVu Sans Mono for code: fonts-dejavu's two parts), Chromium for the browser tests,
#      poppler-utils for the PDF tests, Node.js/npm if missing (KaTeX renders math at build time).
#   2. .venv with the machine's python3, and the project with every pinned dependency:
#      pip install -c constraints.txt -e ".[test]"
#   3. npm ci of the pinned KaTeX (its CSS and fonts are copied to _vendor/katex for the site)
#      and axe-core (injected into the pages by the site tests).
# Each step is skipped when already done (stamp files in .stamps/), so a second run is fast.
# SETUP_PYTHON_ONLY=1 (`make lab`) does step 2 only: no system package, no npm, no root; it
# needs a python3 that can create a venv (any OS; the README shows the same with pip alone).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
STAMPS="$ROOT/.stamps"
mkdir -p "$STAMPS"
PYTHON=${PYTHON:-python3}
EXTRA=${SETUP_EXTRA:-test}

say() { printf '\n==> setup: %s\n' "$*"; }

PYTHON_ONLY=${SETUP_PYTHON_ONLY:-0}

# ---------------------------------------------------------------- 1. Debian packages
if [ "$PYTHON_ONLY" = 1 ]; then
  say "Python environment only (SETUP_PYTHON_ONLY=1): no system packages, no npm"
  if [ ! -x .venv/bin/python ] && ! "$PYTHON" -c "import ensurepip, venv" >/dev/null 2>&1; then
    echo "setup: $PYTHON cannot create a virtual environment (on Debian/Ubuntu: the python3-venv package)." >&2
    echo "setup: install it, or point PYTHON=... at another Python >= 3.10, then run this again." >&2
    exit 1
  fi
fi
if [ "$PYTHON_ONLY" != 1 ]; then
APT_PACKAGES=(
  texlive-latex-recommended texlive-latex-extra texlive-fonts-recommended texlive-xetex
  latexmk fonts-freefont-otf fonts-dejavu-core fonts-dejavu-extra xindy
  chromium poppler-utils
)
command -v node >/dev/null 2>&1 || APT_PACKAGES+=(nodejs)
command -v npm >/dev/null 2>&1 || APT_PACKAGES+=(npm)
if [ ! -x .venv/bin/python ] && ! "$PYTHON" -c "import ensurepip, venv" >/dev/null 2>&1; then
  APT_PACKAGES+=(python3-venv)   # Debian's python3 needs it to create .venv
fi

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
if ((${#missing[@]})); then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  say "installing Debian packages: ${missing[*]}"
  say "(TeX Live for the PDF, chromium for the browser tests, poppler-utils for the PDF tests; this takes several minutes once)"
  $SUDO apt-get update
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
else
  say "Debian packages present (${#APT_PACKAGES[@]} checked with dpkg-query)"
fi
fi

# ---------------------------------------------------------------- 2. Python environment
if [ ! -x .venv/bin/python ]; then
  say "creating .venv with $($PYTHON --version 2>&1) ($(command -v "$PYTHON"))"
  "$PYTHON" -m venv .venv
fi
PIP_STAMP="$STAMPS/pip-$EXTRA"
if [ ! -f "$PIP_STAMP" ] || [ pyproject.toml -nt "$PIP_STAMP" ] || [ constraints.txt -nt "$PIP_STAMP" ] \
   || ! .venv/bin/python -c "import backprop_lib" >/dev/null 2>&1; then
  say "installing Python packages: pip install -c constraints.txt -e \".[$EXTRA]\" (pinned versions)"
  .venv/bin/python -m pip install --disable-pip-version-check -q -c constraints.txt -e ".[$EXTRA]"
  touch "$PIP_STAMP"
else
  say "Python packages up to date (.venv, stamp $PIP_STAMP)"
fi

if [ "$PYTHON_ONLY" = 1 ]; then
  say "done: $(.venv/bin/python --version) with the project's \".[$EXTRA]\" packages in .venv"
  exit 0
fi

# ---------------------------------------------------------------- 3. KaTeX (and axe-core) from npm
NPM_STAMP="$STAMPS/npm"
if [ ! -f "$NPM_STAMP" ] || [ package.json -nt "$NPM_STAMP" ] || [ package-lock.json -nt "$NPM_STAMP" ] \
   || [ ! -f node_modules/katex/dist/katex.min.js ] || [ ! -f _vendor/katex/katex.min.css ] \
   || [ ! -f node_modules/axe-core/axe.min.js ]; then
  say "installing KaTeX and axe-core (accessibility checks of the site tests) from npm (npm ci, pinned in package-lock.json) and copying KaTeX's CSS and fonts to _vendor/katex"
  npm ci --no-audit --no-fund --loglevel=error
  rm -rf _vendor/katex
  mkdir -p _vendor/katex
  cp node_modules/katex/dist/katex.min.css _vendor/katex/
  cp -r node_modules/katex/dist/fonts _vendor/katex/
  touch "$NPM_STAMP"
else
  say "KaTeX assets up to date (node_modules/katex, _vendor/katex)"
fi

say "done: $(.venv/bin/python --version), jupyter-book $(.venv/bin/python -c 'import jupyter_book; print(jupyter_book.__version__)'), node $(node --version), katex $(node -p 'require("./node_modules/katex/package.json").version')"
