"""The PDF: built by XeLaTeX into _build/latex, every chapter in it, math typeset, no unresolved
reference (``??``), figures present; one page rendered to PNG in artifacts/ for a person to look at.

Set like a book: a title page with the subtitle; the LaTeX log has no ``Missing character``
(a glyph the font lacks, which XeLaTeX drops silently) and no line over the margin by more than
``OVERFULL_LIMIT_PT`` (each reported with the chapter and section it is in); every font is
embedded and none is a bitmap Type 3 font; figures are vector PDF (sharp at any print
resolution) or, if bitmaps, at least ``MIN_FIGURE_DPI``.
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
OVERFULL_LIMIT_PT = 5.0
MIN_FIGURE_DPI = 150
SUBTITLE = "derived from matrix calculus, checked three ways: SymPy, NumPy, PyTorch"


@pytest.fixture(scope="module")
def pdf(built_book) -> Path:
    # The book is latex_documents.targetname in _config.yml; the other PDFs there are figures.
    book = built_book / "latex" / "backprop-derived.pdf"
    assert book.is_file(), f"no {book.name} in {built_book / 'latex'}: {sorted(p.name for p in book.parent.glob('*.pdf'))}"
    return book


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


@pytest.fixture(scope="module")
def latex_log(pdf) -> str:
    return pdf.with_suffix(".log").read_text(encoding="utf-8", errors="replace")


def test_title_page_has_the_subtitle(pages):
    title = _normalise(pages[0])
    assert "Backprop, Derived" in title and SUBTITLE in title, f"title page: {title[:300]!r}"


def test_no_missing_character(latex_log):
    """XeLaTeX drops a character its font lacks and only says so in the log."""
    missing = sorted(set(re.findall(r"Missing character: There is no .*", latex_log)))
    assert not missing, f"{len(missing)} kind(s) of missing glyph:\n  " + "\n  ".join(missing[:10])


_OVERFULL = re.compile(r"Overfull \\hbox \(([0-9.]+)pt too wide\) "
                       r"(?:in paragraph at lines (\d+)--\d+|in alignment at lines (\d+)--\d+|detected at line (\d+))")


def overfull_lines(log: str, tex: list[str], limit: float) -> list[str]:
    """Each line that runs past the margin by more than ``limit`` pt: by how much, where in
    the book (chapter / section, from the .tex line the log names) and what is on it."""
    headings = [(i, m.group(1), m.group(2)) for i, line in enumerate(tex, 1)
                if (m := re.match(r"\\(chapter|section|subsection)\*?\{(.*?)\}", line))]
    found = []
    for m in _OVERFULL.finditer(log):
        pt = float(m.group(1))
        if pt <= limit:
            continue
        line = int(next(g for g in m.groups()[1:] if g))
        if 0 <= log.rfind(".ind", 0, m.start()) and log.rfind("(./", 0, m.start()) < log.rfind(".ind", 0, m.start()):
            chapter, section = "the index", ""   # the log's line numbers are then the .ind file's
        else:
            chapter = next((h[2] for h in reversed(headings) if h[0] <= line and h[1] == "chapter"), "front matter")
            section = next((h[2] for h in reversed(headings) if h[0] <= line), "")
        after = log[m.end():m.end() + 200].splitlines()
        text = re.sub(r"\\TU/\S+ ", "", after[1] if len(after) > 1 else "")[:80]
        found.append(f"{pt:.1f} pt in {chapter[:50]!r} / {section[:50]!r} (tex line {line}): {text!r}")
    return found


def test_no_line_over_the_margin(pdf, latex_log):
    tex = pdf.with_suffix(".tex").read_text(encoding="utf-8", errors="replace").splitlines()
    over = overfull_lines(latex_log, tex, OVERFULL_LIMIT_PT)
    assert not over, (f"{len(over)} line(s) over the margin by more than {OVERFULL_LIMIT_PT} pt:\n  "
                      + "\n  ".join(over))


def test_the_overfull_check_can_fail():
    tex = ["\\chapter{One}", "\\section{Two}", "text"]
    log = ("Overfull \\hbox (12.5pt too wide) in paragraph at lines 3--3\n[]\\TU/FreeSerif(0)/m/n/10 wide|\n"
           "Overfull \\hbox (2.0pt too wide) detected at line 3\n[]\n")
    over = overfull_lines(log, tex, OVERFULL_LIMIT_PT)
    assert len(over) == 1 and over[0].startswith("12.5 pt in 'One' / 'Two' (tex line 3)"), over


def test_every_font_is_embedded(pdf):
    listing = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
    rows = listing.strip().splitlines()[2:]
    assert rows, "pdffonts lists no font"
    not_embedded = [row for row in rows if re.search(r"\s(no)\s+(yes|no)\s+(yes|no)\s+\d+\s+\d+\s*$", row)]
    type3 = [row for row in rows if "Type 3" in row]
    assert not not_embedded, "fonts not embedded:\n" + "\n".join(not_embedded)
    assert not type3, "bitmap (Type 3) fonts:\n" + "\n".join(type3)
    assert any("DejaVuSansMono" in row for row in rows), "code is not set in DejaVu Sans Mono:\n" + listing


def test_figures_are_print_resolution(pdf):
    """Figures print sharp: each figure the book includes is vector PDF (the build keeps every
    matplotlib figure as PDF too, _latex/ipython_kernel_config.py), or, if a bitmap, at least
    MIN_FIGURE_DPI at the size it is printed. (Bitmaps inside a vector figure, such as an
    imshow heatmap, are at the figure's own resolution and are not counted.)"""
    tex = pdf.with_suffix(".tex").read_text(encoding="utf-8", errors="replace")
    included = [name.strip("{}") for name in re.findall(r"\\sphinxincludegraphics(?:\[[^\]]*\])?\{\{?([^}]+)\}", tex)]
    files = [next(iter(sorted(pdf.parent.glob(stem + ".*"))), None) for stem in included]
    raster = [f for f in files if f is not None and f.suffix.lower() in (".png", ".jpg", ".jpeg", ".gif")]
    print(f"{len(files)} figures included: {len(files) - len(raster)} vector PDF, {len(raster)} bitmap")
    if not raster:
        return
    listing = subprocess.run(["pdfimages", "-list", str(pdf)], capture_output=True, text=True, check=True).stdout
    low = []
    for row in listing.strip().splitlines()[2:]:
        cols = row.split()
        if cols[2] != "image":          # smask rows belong to the image before them
            continue
        x_ppi, y_ppi = int(cols[12]), int(cols[13])
        if min(x_ppi, y_ppi) < MIN_FIGURE_DPI:
            low.append(f"page {cols[0]}: {cols[3]}x{cols[4]} px at {x_ppi}x{y_ppi} dpi")
    assert not low, (f"{len(raster)} bitmap figure(s) ({', '.join(f.name for f in raster[:5])}); "
                     f"{len(low)} image(s) below {MIN_FIGURE_DPI} dpi:\n  " + "\n  ".join(low))
