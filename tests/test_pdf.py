"""The PDF: built by XeLaTeX into _build/latex, every chapter in it, math typeset, no unresolved
reference (``??``), figures present; one page rendered to PNG in artifacts/ for a person to look at.
"""

from __future__ import annotations

import json
from html import unescape
import re
import subprocess
import unicodedata
from pathlib import Path

import pytest
from book_toc import toc_files

pytestmark = pytest.mark.book

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def pdf(built_book) -> Path:
    pdfs = sorted((built_book / "latex").glob("*.pdf"))
    assert len(pdfs) == 1, f"expected one PDF in {built_book / 'latex'}, found {pdfs}"
    return pdfs[0]


@pytest.fixture(scope="module")
def pages(pdf) -> list[str]:
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return text.split("\f")


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    text = text.replace("\u2013", "-").replace("\u2014", "-").replace("\u2019", "'").replace("\u2018", "'")
    text = text.replace("\u201c", '"').replace("\u201d", '"')
    return re.sub(r"\s+", " ", text)


def _title(doc: str) -> str:
    path = next(p for p in (ROOT / f"{doc}.ipynb", ROOT / f"{doc}.md") if p.is_file())
    if path.suffix == ".ipynb":
        source = "\n".join("".join(c["source"]) for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "markdown")
    else:
        source = path.read_text()
    title = re.search(r"^# (.+)$", source, re.M).group(1)
    title = re.sub(r"\$[^$]*\$", " ", title)          # math renders as symbols, not TeX
    title = re.sub(r"[`*_]", "", title)
    return _normalise(title).strip()


def test_pdf_is_xelatex_and_has_pages(pdf):
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    count = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))
    producer = re.search(r"^Producer:\s+(.*)$", info, re.M).group(1)
    print(f"PDF {pdf.name}: {count} pages, producer {producer}")
    assert "xdvipdfmx" in producer.lower() or "xetex" in producer.lower(), f"not built by XeLaTeX: {producer}"
    assert count >= 2 * len(toc_files(include_root=False)), f"only {count} pages for {len(toc_files(include_root=False))} chapters"


@pytest.mark.parametrize("doc", toc_files(include_root=False))
def test_every_chapter_title_is_in_the_pdf(pages, doc):
    body = _normalise(" ".join(pages))
    words = _title(doc)
    # Each run of the title between math parts must appear in the PDF's text.
    for chunk in [c.strip() for c in re.split(r"\s{2,}| (?=\W)", words) if len(c.strip()) > 2]:
        assert chunk in body, f"{doc}: title part {chunk!r} not found in the PDF"


def test_no_unresolved_references(pages):
    hits = [i + 1 for i, page in enumerate(pages) if "??" in page]
    assert not hits, f"'??' (unresolved reference) on PDF page(s) {hits}"


def _code_text(html: Path) -> str:
    """Everything the PDF may legitimately print verbatim: the text of every code element of the
    built site (code cells, their outputs, inline code, docstring literals), whitespace removed."""
    parts = []
    for page in html.rglob("*.html"):
        source = page.read_text(encoding="utf-8")
        for block in re.findall(r"<(pre|code)\b[^>]*>(.*?)</\1>", source, re.S):
            parts.append(unescape(re.sub(r"<[^>]+>", "", block[1])))
    return re.sub(r"\s+", "", "".join(parts))


def _squash(token: str) -> str:
    return re.sub(r"[\s\u2423\u21aa]+", "", token)  # pdf line-wrap marks in code: visible space, hook arrow


def test_math_is_typeset(pages, built_book):
    text = " ".join(pages)
    code = _code_text(built_book / "html")
    dollars = [line.strip() for line in text.splitlines() if "$$" in line and _squash(line) not in code]
    assert not dollars, f"raw $$ in the PDF's text (not from code): {dollars[:5]}"
    raw = sorted({t for t in re.findall(r"\\[A-Za-z]{2,}\S*", text) if _squash(t).rstrip("\"').,;:!?") not in code})
    assert not raw, f"raw TeX in the PDF's text (not from code): {raw[:10]}"
    intro = next(p for p in pages if "One check, all three ways" in p and "CONTENTS" not in p)
    intro = _normalise(intro)   # NFKC: math italic 𝛿 -> δ
    assert "δ" in intro and "∇" in intro, "the introduction's formulas are not typeset as symbols"


def test_figures_are_in_the_pdf(pdf, built_book):
    listing = subprocess.run(["pdfimages", "-list", str(pdf)], capture_output=True, text=True, check=True).stdout
    in_pdf = max(0, len(listing.strip().splitlines()) - 2)
    html_images = [p for p in (built_book / "html" / "_images").glob("*") if p.suffix in (".png", ".jpg", ".svg")]
    if html_images:
        assert in_pdf >= 1, f"the site has {len(html_images)} figures, the PDF none"
    tex = next((built_book / "latex").glob("*.tex")).read_text(errors="replace")
    for name in re.findall(r"\\sphinxincludegraphics(?:\[[^\]]*\])?\{\{?([^}]+)\}", tex):
        stem = name.strip("{}")
        assert list((built_book / "latex").glob(stem + "*")), f"figure {stem} referenced by the .tex is missing"


def test_render_a_page_to_png(pdf, pages, artifacts):
    # the introduction's worked check (not the table of contents, which names the section too)
    number = next(i + 1 for i, p in enumerate(pages) if "One check, all three ways" in p and "δ" in _normalise(p) and "CONTENTS" not in p)
    out = artifacts / "pdf-page"
    for old in artifacts.glob("pdf-page*.png"):
        old.unlink()
    subprocess.run(["pdftoppm", "-f", str(number), "-l", str(number), "-png", "-r", "80", "-singlefile",
                    str(pdf), str(out)], check=True)
    png = out.with_suffix(".png")
    assert png.stat().st_size > 10_000
