#!/usr/bin/env bash
# Strict build of the book: the website (_build/html) and the PDF (_build/latex/backprop-derived.pdf;
# the other PDFs in _build/latex are the figures it includes).
#   - every notebook is executed afresh, all of them in parallel before Sphinx starts
#     (scripts/execute_notebooks.py empties _build/.jupyter_cache and fills it; the build reads
#     it: execute_notebooks: cache in _config.yml);
#   - -W -n --keep-going: any warning (a raising cell, a broken reference or citation, a missing
#     nitpick target, TeX that KaTeX cannot parse) fails the build, after reporting all of them;
#   - scripts/check_html.py then fails the build if a page shows a KaTeX error or loads anything
#     from another host;
#   - the PDF is built with XeLaTeX from the same Sphinx environment (no second execution);
#     notebooks run with the IPython profile in _latex/ipython_kernel_config.py, so each figure
#     is kept as PNG for the site and as vector PDF for the book;
#   - the downloads the site links to are put into _build/html/downloads/: the PDF, and the
#     notebook bundle (scripts/build_bundle.py: notebooks, backprop_lib wheel, pinned versions).
# Logs: _build/logs/html.log and _build/logs/pdf.log. Run scripts/setup.sh first (make does).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
OUT=_build
mkdir -p "$OUT/logs"
start=$(date +%s)
# The kernel profile for the build (figures as PNG and PDF): IPython writes into its profile
# directory, so it lives under _build, not in the checkout.
export IPYTHONDIR="$PWD/$OUT/ipython"
mkdir -p "$IPYTHONDIR/profile_default"
cp _latex/ipython_kernel_config.py "$IPYTHONDIR/profile_default/ipython_kernel_config.py"

echo "==> book: executing every notebook in parallel (scripts/execute_notebooks.py)"
rm -f "$OUT/.book-stamp"
python scripts/execute_notebooks.py "$OUT" 2>"$OUT/logs/execute.log"
echo "==> book: strict HTML build (jupyter-book build --all -W -n --keep-going .)"
if ! jupyter-book build --all -W -n --keep-going . >"$OUT/logs/html.log" 2>&1; then
  grep -E "WARNING|ERROR|Error|Exception" "$OUT/logs/html.log" | grep -v "IPKernelApp\] WARNING" | tail -n 40 >&2 || true
  echo "==> book: HTML build FAILED (full log: $OUT/logs/html.log)" >&2
  exit 1
fi
grep -E "build succeeded|build finished" "$OUT/logs/html.log" | tail -n 1
python scripts/check_html.py "$OUT/html"
html_done=$(date +%s)
echo "==> book: HTML done in $((html_done - start)) s: $OUT/html/index.html"

echo "==> book: PDF (jupyter-book build . --builder pdflatex -W -n --keep-going, XeLaTeX)"
BOOK_PDF="$OUT/latex/backprop-derived.pdf"   # latex_documents.targetname in _config.yml
rm -f "$BOOK_PDF"
if ! jupyter-book build . --builder pdflatex -W -n --keep-going >"$OUT/logs/pdf.log" 2>&1; then
  grep -E "WARNING|ERROR|^!|Error" "$OUT/logs/pdf.log" | grep -v "IPKernelApp\] WARNING" | tail -n 40 >&2 || true
  echo "==> book: PDF build FAILED (full log: $OUT/logs/pdf.log)" >&2
  exit 1
fi
pdf="$BOOK_PDF"
if [ ! -f "$pdf" ]; then
  echo "==> book: no PDF was produced in $OUT/latex (log: $OUT/logs/pdf.log)" >&2
  exit 1
fi
pages=$(pdfinfo "$pdf" 2>/dev/null | awk '/^Pages:/ {print $2}')
echo "==> book: PDF done in $(($(date +%s) - html_done)) s: $pdf (${pages:-?} pages)"

echo "==> book: downloads for the site: the PDF and the notebook bundle ($OUT/html/downloads/)"
mkdir -p "$OUT/html/downloads"
cp "$pdf" "$OUT/html/downloads/backprop-derived.pdf"
PYTHONPATH="$PWD/scripts${PYTHONPATH:+:$PYTHONPATH}" python scripts/build_bundle.py "$OUT/html/downloads"
end=$(date +%s)
touch "$OUT/.book-stamp"
echo "==> book: built in $((end - start)) s: $OUT/html/ and $pdf"
