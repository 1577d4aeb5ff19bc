"""Execute every notebook of the book in parallel, into the jupyter-cache the build then reads.

    python scripts/execute_notebooks.py [BUILD_DIR [BOOK_ROOT]]   # defaults: _build, the repository

A cold build spends most of its time running notebooks, and Sphinx (through Jupyter Book 1.x)
runs them one after another.  This script empties ``BUILD_DIR/.jupyter_cache`` and runs all
the notebooks listed in ``_toc.yml`` on a pool of one process per CPU with jupyter-cache's
``local-parallel`` executor: each in its own directory (as the build and nbmake run them),
with the timeout from ``_config.yml``.  The build (``execute_notebooks: cache``) then takes
each notebook's outputs from the cache.

Freshness: the cache is emptied first, so every ``make book`` executes every notebook against
the current ``backprop_lib``, exactly as ``force`` mode did.

Failures: a notebook that raises is not cached.  The build then finds no cached outputs for it,
runs it again itself and reports the error as a warning, which fails the strict build.  This
script only lists the failures; it leaves the verdict to the build.
"""

from __future__ import annotations

import logging
import shutil
import sys
import time
from pathlib import Path

import yaml
from jupyter_cache import get_cache
from jupyter_cache.executors import load_executor

from book_toc import toc_files  # scripts/book_toc.py (this script's directory is on sys.path)

ROOT = Path(__file__).resolve().parent.parent


def toc_notebooks(root: Path = ROOT) -> list[Path]:
    """Every ``.ipynb`` the table of contents lists, in reading order."""
    return [root / f"{doc}.ipynb" for doc in toc_files(root=root) if (root / f"{doc}.ipynb").is_file()]


def execution_timeout(root: Path = ROOT) -> int:
    config = yaml.safe_load((root / "_config.yml").read_text())
    return int(config.get("execute", {}).get("timeout", 300))


def main(build_dir: Path, root: Path = ROOT) -> int:
    notebooks = toc_notebooks(root)
    cache_path = build_dir / ".jupyter_cache"
    shutil.rmtree(cache_path, ignore_errors=True)
    cache = get_cache(str(cache_path))
    for nb in notebooks:
        cache.add_nb_to_project(str(nb))
    logger = logging.getLogger("execute_notebooks")
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    start = time.perf_counter()
    result = load_executor("local-parallel", cache, logger=logger).run_and_cache(
        timeout=execution_timeout(root), allow_errors=False)
    seconds = time.perf_counter() - start
    failed = sorted(Path(uri).name for uri in result.excepted + result.errored)
    print(f"execute_notebooks: {len(result.succeeded)} of {len(notebooks)} notebooks executed and cached "
          f"in {seconds:.0f} s" + (f"; failed (the build will run and report them): {', '.join(failed)}" if failed else ""))
    return 0


if __name__ == "__main__":
    args = sys.argv[1:]
    sys.exit(main(Path(args[0]) if args else ROOT / "_build", Path(args[1]) if len(args) > 1 else ROOT))
