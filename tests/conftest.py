"""Shared fixtures.

Library tests need none of these.  The site and PDF tests (marked ``book``) use ``built_book``,
which makes sure ``_build/`` holds a strict build newer than every source: it reuses the build
`make book` just made, or runs scripts/build_book.sh (once, under a file lock, so parallel
xdist workers do not build twice).
"""

from __future__ import annotations

import fcntl
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "_build"
ARTIFACTS = ROOT / "artifacts"


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def _book_is_fresh() -> bool:
    return subprocess.run(["bash", str(ROOT / "scripts/book_is_fresh.sh")], cwd=ROOT).returncode == 0


@pytest.fixture(scope="session")
def built_book() -> Path:
    """The ``_build`` directory of a complete, current strict build (HTML and PDF).

    ``BOOK_BUILD_DIR=path`` tests an existing build elsewhere instead (for example one made with
    ``jupyter-book build --path-output``); `make test` never sets it.
    """
    if os.environ.get("BOOK_BUILD_DIR"):
        build = Path(os.environ["BOOK_BUILD_DIR"]).resolve()
        assert (build / "html" / "index.html").is_file(), f"BOOK_BUILD_DIR={build} holds no built site"
        return build
    BUILD.mkdir(exist_ok=True)
    with open(BUILD / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not _book_is_fresh():
                result = subprocess.run(["bash", str(ROOT / "scripts/build_book.sh")], cwd=ROOT)
                assert result.returncode == 0, "the strict book build failed (see _build/logs/)"
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    assert (BUILD / "html" / "index.html").is_file()
    return BUILD
