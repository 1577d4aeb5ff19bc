"""Committed notebooks are clean and executable as the book expects.

Every chapter notebook: no outputs and no execution counts in git, kernel ``python3``, valid
nbformat 4; every notebook under chapters/ is in the table of contents, and every file the table
of contents names exists.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest
from book_toc import toc_files

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "chapters").glob("*.ipynb"))


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 14, f"expected every chapter as a notebook, found {len(NOTEBOOKS)}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stripped_and_valid(path: Path):
    raw = json.loads(path.read_text(encoding="utf-8"))
    nb = nbformat.reads(json.dumps(raw), as_version=4)
    nbformat.validate(nb)
    assert nb.nbformat == 4
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3", "kernel must be python3"
    dirty = [
        i for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count") is not None)
    ]
    assert not dirty, f"{path.name}: code cells {dirty} have outputs or execution counts (strip them before committing)"
    assert any(c.cell_type == "markdown" and re.search(r"^# \S", c.source, re.M) for c in nb.cells[:2]), \
        f"{path.name}: the first cell should be the chapter title ('# Title')"


def test_toc_names_existing_files_only():
    missing = []
    for name in toc_files():
        if not any((ROOT / f"{name}{ext}").is_file() for ext in ("", ".md", ".ipynb")):
            missing.append(name)
    assert not missing, f"_toc.yml names files that do not exist: {missing}"


def test_every_chapter_notebook_is_in_the_toc():
    listed = {str(Path(f).with_suffix("")) for f in toc_files()}
    orphans = [p.name for p in NOTEBOOKS if str(p.relative_to(ROOT).with_suffix("")) not in listed]
    assert not orphans, f"notebooks missing from _toc.yml (they would not be built): {orphans}"


LIBRARY_CLASSES = re.compile(r"^\s*(class (Dense|ReLU|Sigmoid|Tanh|Softmax|Identity|Sequential|SGD|Adam)\b"
                             r"|def (relu|sigmoid|softmax|log_softmax|tanh|vec|unvec|kron)\()", re.M)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_uses_the_library_not_copies_of_it(path: Path):
    """A chapter imports what backprop_lib has; it never re-defines it, and it glues through
    ``backprop_lib.book.glue`` (NumPy scalars otherwise print as ``np.float64(...)``)."""
    nb = nbformat.read(path, as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert not LIBRARY_CLASSES.search(code), f"{path.name} re-defines library code: {LIBRARY_CLASSES.search(code).group(0)}"
    assert "from myst_nb import glue" not in code, f"{path.name}: use `from backprop_lib.book import glue`"
