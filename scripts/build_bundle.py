"""Build the downloadable bundle that runs the book's notebooks on a reader's machine.

    python scripts/build_bundle.py OUT_DIR        # writes OUT_DIR/backprop-derived-notebooks.zip

The zip holds one folder, ``backprop-derived-notebooks/``, with

* ``chapters/``: every notebook of the table of contents, as committed (no outputs);
* ``benchmarks/``: the benchmark code and saved results the performance appendix reads;
* ``wheels/``: the ``backprop_lib`` wheel, built from this checkout;
* ``requirements.txt`` and ``constraints.txt``: what to install, every version pinned
  (the project's own lock; PyTorch pinned by version, so either its CPU or CUDA build fits);
* ``HOW-TO-RUN.md``: the commands, for Linux, macOS and Windows.

``scripts/build_book.sh`` runs this after the HTML build, into ``_build/html/downloads/``,
so the site links to a bundle built from the same commit; ``tests/test_bundle.py`` installs
it into a fresh virtual environment and runs a chapter.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from book_toc import toc_files  # scripts/book_toc.py (this script's directory is on sys.path)

ROOT = Path(__file__).resolve().parent.parent
NAME = "backprop-derived-notebooks"
ZIP_NAME = f"{NAME}.zip"

HOW_TO_RUN = """\
# Running the notebooks of *Backprop, Derived*

This folder has every chapter of the book as a Jupyter notebook (`chapters/`), the book's
library `backprop_lib` as a wheel (`wheels/`), and the exact versions of everything else
(`constraints.txt`). You need Python {python} or newer and nothing else: no compiler, no
system packages, no administrator rights.

## Linux and macOS

```bash
cd {name}
python3 -m venv .venv
.venv/bin/python -m pip install --find-links wheels -c constraints.txt -r requirements.txt
.venv/bin/jupyter lab chapters
```

## Windows (PowerShell or cmd)

```
cd {name}
py -m venv .venv
.venv\\Scripts\\python -m pip install --find-links wheels -c constraints.txt -r requirements.txt
.venv\\Scripts\\jupyter lab chapters
```

JupyterLab opens in your browser; open a chapter and run it top to bottom (Run > Run All
Cells). Each chapter runs in well under a minute on a laptop.

## Notes

- PyTorch is pinned to version {torch}. On Linux, pip's default PyTorch wheel also brings the
  CUDA libraries (several GB); the CPU-only build of the same version is enough for this
  book: install it first, as PyTorch's own installation page shows for "CPU", then run the
  install command above.
- The first import of PyTorch or SymPy in a session takes a few seconds.
- `benchmarks/` holds the benchmark code and the saved results that the performance
  appendix (`chapters/performance.ipynb`) reads; it does not rerun them.
- The book itself (website and PDF) is built from the same sources; this bundle was built
  from the same commit as the site you downloaded it from.
"""


def build_wheel(dest: Path, root: Path = ROOT) -> Path:
    """``pip wheel`` of the project (no dependencies), with the environment's setuptools, from a
    copy of what the wheel is made of (so the build leaves nothing in the checkout)."""
    with tempfile.TemporaryDirectory() as src:
        for name in ("pyproject.toml", "README.md"):
            shutil.copy2(root / name, Path(src) / name)
        shutil.copytree(root / "backprop_lib", Path(src) / "backprop_lib",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                        "--disable-pip-version-check", "-w", str(dest), src], check=True)
    wheels = sorted(dest.glob("backprop_lib-*.whl"))
    assert len(wheels) == 1, f"expected one backprop_lib wheel in {dest}, found {wheels}"
    return wheels[0]


def bundle_constraints(text: str) -> str:
    """The project's lock, with PyTorch's local build label dropped (``torch==2.13.0+cpu`` ->
    ``torch==2.13.0``: the CPU and the CUDA builds of that version both satisfy it) and the
    tools only the book's build and tests use kept (constraints only bound what is installed)."""
    return re.sub(r"^(torch==[^+\s]+)\+\S+$", r"\1", text, flags=re.M)


def torch_version(constraints: str) -> str:
    match = re.search(r"^torch==(\S+)$", constraints, re.M)
    return match.group(1) if match else "as pinned"


def python_floor() -> str:
    text = (ROOT / "pyproject.toml").read_text()
    match = re.search(r'requires-python\s*=\s*">=([0-9.]+)"', text)
    return match.group(1) if match else "3.10"


def build(out_dir: Path, root: Path = ROOT) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        top = Path(tmp) / NAME
        (top / "chapters").mkdir(parents=True)
        for doc in toc_files(root=root):
            nb = root / f"{doc}.ipynb"
            if nb.is_file():
                shutil.copy2(nb, top / "chapters" / nb.name)
        bench = top / "benchmarks"
        (bench / "results").mkdir(parents=True)
        for py in sorted((root / "benchmarks").glob("*.py")):
            shutil.copy2(py, bench / py.name)
        for result in sorted((root / "benchmarks" / "results").glob("*.json")):
            shutil.copy2(result, bench / "results" / result.name)
        wheel = build_wheel(top / "wheels", root)
        constraints = bundle_constraints((root / "constraints.txt").read_text())
        (top / "constraints.txt").write_text(constraints)
        (top / "requirements.txt").write_text(
            "# The book's library with what the notebooks use (JupyterLab, PyTorch, SymPy, matplotlib, ...);\n"
            "# versions come from constraints.txt, the library from wheels/.\n"
            "backprop-lib[lab]\n")
        (top / "HOW-TO-RUN.md").write_text(HOW_TO_RUN.format(
            name=NAME, python=python_floor(), torch=torch_version(constraints)))
        target = out_dir / ZIP_NAME
        partial = target.with_suffix(".zip.tmp")
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for path in sorted(top.rglob("*")):
                if path.is_file():
                    zf.write(path, path.relative_to(Path(tmp)).as_posix())
        partial.replace(target)
    print(f"build_bundle: {target} ({target.stat().st_size / 1e3:.0f} kB: {wheel.name} and "
          f"{len(list((root / 'chapters').glob('*.ipynb')))} notebooks)")
    return target


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    build(Path(sys.argv[1]))
