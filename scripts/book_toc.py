"""The book's table of contents as a list of documents: for the tests that walk every page, and
for scripts/execute_notebooks.py, which runs every notebook before the build."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def toc_files(include_root: bool = True, root: Path = ROOT) -> list[str]:
    """Every ``file`` entry of ``root/_toc.yml`` in reading order (parts, chapters, sections),
    without extension; the root page first unless ``include_root`` is false."""
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    files = [toc["root"]] if include_root else []

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("sections"))
            walk(entry.get("chapters"))

    walk(toc.get("parts"))
    walk(toc.get("chapters"))
    return files
