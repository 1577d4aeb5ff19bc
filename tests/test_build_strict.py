"""The strict build really is strict.

A copy of the book's configuration (the real _config.yml and extensions) builds a tiny book
twice: as is (it must succeed), and with a notebook cell that raises plus TeX that KaTeX cannot
parse (the build must fail, and its log must name both faults). Then: the real build's log has no warning,
the API reference covers every public module, and the HTML checker catches what it should.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import pkgutil
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
JUPYTER_BOOK = Path(sys.executable).parent / "jupyter-book"
EXECUTE_NOTEBOOKS = ROOT / "scripts" / "execute_notebooks.py"

sys.path.insert(0, str(ROOT / "scripts"))
import check_html  # noqa: E402


def _notebook(path: Path, title: str, code: str) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_markdown_cell(f"# {title}\n\nA page of the test book, $x^2$."),
                nbformat.v4.new_code_cell(code)]
    nbformat.write(nb, path)


def _mini_book(tmp: Path, variant: str) -> Path:
    book = tmp / f"book_{variant}"
    (book / "chapters").mkdir(parents=True)
    for name in ("_config.yml", "references.bib"):
        shutil.copy(ROOT / name, book / name)
    for name in ("_ext", "_latex", "_static", "_templates"):
        shutil.copytree(ROOT / name, book / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("node_modules", "_vendor"):
        os.symlink(ROOT / name, book / name)
    (book / "intro.md").write_text("# Test book\n\nDisplay math:\n\n$$\nz = W a + b\n$$\n")
    chapters = ["good"]
    _notebook(book / "chapters/good.ipynb", "Good",
              "import backprop_lib\nfrom myst_nb import glue\nglue('n', 3, display=False)\nprint('ok')")
    if variant == "broken":
        _notebook(book / "chapters/broken.ipynb", "Broken",
                  "import backprop_lib\nraise RuntimeError('a deliberately broken cell')")
        chapters.append("broken")
    if variant == "broken":
        (book / "chapters/badtex.md").write_text("# Bad TeX\n\nThis formula cannot parse: $\\frac{1}{$.\n")
        chapters.append("badtex")
    toc = "format: jb-book\nroot: intro\nchapters:\n" + "".join(f"  - file: chapters/{c}\n" for c in chapters)
    (book / "_toc.yml").write_text(toc)
    return book


def _run_logged(cmd: list[str], log: Path) -> tuple[int, str]:
    """Run ``cmd``; return its exit code and its output.

    The output goes to a file, not a pipe, and the command runs in its own process group, which is
    killed afterwards: sphinxcontrib-katex's node render server (and a Jupyter kernel) inherit the
    command's stderr, and one that outlives it (seen once in CI, for the KaTeX server) would keep
    a pipe open and hang the test.
    """
    with log.open("w") as fh:
        process = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            code = process.wait(timeout=600)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # anything it left running
    return code, log.read_text(errors="replace")


def _build(book: Path) -> tuple[int, str]:
    """Build ``book`` strictly; return the exit code and the log."""
    return _run_logged([str(JUPYTER_BOOK), "build", "--all", "-W", "-n", "--keep-going", str(book)],
                       book.parent / f"{book.name}-build.log")


def _pre_execute(book: Path) -> str:
    """What `make book` does before the build: every notebook, in parallel, into the book's cache."""
    code, out = _run_logged([sys.executable, str(EXECUTE_NOTEBOOKS), str(book / "_build"), str(book)],
                            book.parent / f"{book.name}-execute.log")
    assert code == 0, out
    return out


def test_control_book_builds(tmp_path):
    code, log = _build(_mini_book(tmp_path, "control"))
    assert code == 0, log[-3000:]
    html = tmp_path / "book_control/_build/html"
    assert 'class="katex' in (html / "intro.html").read_text()
    assert check_html.problems(html) == []


def test_pre_executed_book_is_built_from_a_fresh_cache(tmp_path):
    """`make book`'s path: the notebooks run before the build, which then only reads the cache;
    the cache is emptied first, so nothing from an earlier run (older library code) survives."""
    book = _mini_book(tmp_path, "control")
    stale = book / "_build" / ".jupyter_cache" / "stale-entry"
    stale.parent.mkdir(parents=True)
    stale.write_text("from an earlier run")
    assert "1 of 1 notebooks executed and cached" in _pre_execute(book)
    assert not stale.exists()
    code, log = _build(book)
    assert code == 0, log[-3000:]
    assert "Using cached notebook" in log and "Executing notebook" not in log, log[-3000:]


def test_raising_cell_and_bad_tex_fail_the_build(tmp_path):
    """One build with both faults: --keep-going reports each, and the build fails. The notebooks
    run first as in `make book`: the broken one is not cached, so the build runs it and fails."""
    book = _mini_book(tmp_path, "broken")
    out = _pre_execute(book)
    assert "1 of 2 notebooks executed and cached" in out and "broken.ipynb" in out, out
    code, log = _build(book)
    assert code != 0, "a notebook cell raised and a formula could not parse, yet the build succeeded"
    assert "broken.ipynb" in log and "Executing notebook failed" in log, log[-3000:]
    assert "KaTeX could not render" in log and "badtex.md" in log, log[-3000:]


@pytest.mark.book
def test_real_build_log_has_no_warning(built_book):
    log = (built_book / "logs" / "html.log").read_text()
    warnings = [line for line in log.splitlines()
                if "WARNING" in line and "IPKernelApp] WARNING" not in line]
    assert "build succeeded" in log
    assert not warnings, "\n".join(warnings)


def test_api_reference_documents_every_public_module():
    import backprop_lib

    page = (ROOT / "chapters/api_reference.md").read_text()
    modules = [m.name for m in pkgutil.iter_modules(backprop_lib.__path__) if not m.name.startswith("_")]
    assert modules
    missing = [m for m in modules if f".. automodule:: backprop_lib.{m}\n" not in page]
    assert not missing, f"chapters/api_reference.md does not document: {missing}"
    for m in modules:
        importlib.import_module(f"backprop_lib.{m}")


def test_html_checker_catches_remote_loads_and_katex_errors(tmp_path):
    (tmp_path / "ok.html").write_text(
        '<link rel="stylesheet" href="_static/katex.min.css"><a href="https://doi.org/10.1/x">paper</a>')
    assert check_html.problems(tmp_path) == []
    (tmp_path / "bad.html").write_text(
        '<script src="https://cdn.example.org/mathjax.js"></script>'
        '<link rel="stylesheet" href="//fonts.example.org/a.css">'
        '<img src="http://example.org/a.png">'
        '<span class="katex-error" title="ParseError: bad">\\frac{</span>')
    found = check_html.problems(tmp_path)
    assert len([f for f in found if "another host" in f]) == 3, found
    assert any("KaTeX error" in f for f in found), found
    assert any("MathJax" in f for f in found), found
