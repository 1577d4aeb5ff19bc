"""Accessibility and download fixes for the HTML site, done at build time (no patched package).

* **Unique ids.** sphinx-proof and sphinx-exercise give every theorem body, exercise body and
  proof the same fixed id (``proof-content``, ``exercise-content``, ``proof``), so a page with
  two theorems is invalid HTML and assistive technology can jump to the wrong one.  Before the
  HTML writer runs, a repeated id on a page gets a numeric suffix (``proof-content-2``); the
  first keeps its name.  A ``prf:proof`` body also gets the class ``prf-proof``, so
  ``_static/site.css`` can style it without the theme's ``div#proof`` rule.
* **Named toggles.** The sidebar's ``<summary>`` (open or close a part's pages) holds only an
  icon; it gets an ``aria-label`` (axe: ``summary-name``).
* **Downloads.** The header's download menu keeps the page's ``.ipynb`` (now saved as a file,
  not opened as JSON) and its source, and gains the whole book as a PDF and the runnable bundle
  (notebooks, the ``backprop_lib`` wheel, pinned requirements, a how-to-run file); the theme's
  "print to PDF" entry is renamed to say what it does.  The files themselves are put into
  ``_build/html/downloads/`` by ``scripts/build_book.sh`` (the PDF is built after the HTML).
* **No dead weight.** The theme's ``fontawesome.js`` (1.45 MB, and a 1.7 MB source map) is no
  longer loaded by any page (``_templates/components/static/webpack-macros.html``); it is
  removed from the built site.
"""

from __future__ import annotations

import re
from pathlib import Path

from docutils import nodes
from markupsafe import Markup

DOWNLOADS = "downloads"
PDF_NAME = "backprop-derived.pdf"
BUNDLE_NAME = "backprop-derived-notebooks.zip"
SUMMARY_LABEL = "Show or hide the pages of this part"


def unique_ids(app, doctree, docname) -> None:
    """Rename every repeated id on one page: the second ``x`` becomes ``x-2``, and so on."""
    if app.builder.format != "html":
        return
    seen: set[str] = set()
    for node in doctree.findall(nodes.Element):
        ids = node.get("ids")
        if not ids:
            continue
        if "proof" in ids and "proof" in node.get("classes", []):
            node["classes"].append("prf-proof")
        renamed = []
        for ident in ids:
            new, n = ident, 1
            while new in seen:
                n += 1
                new = f"{ident}-{n}"
            seen.add(new)
            renamed.append(new)
        node["ids"] = renamed


_UNNAMED_SUMMARY = re.compile(r"<summary>(?=\s*<span class=\"toctree-toggle\")")


def _name_summaries(html):
    if hasattr(html, "find_all"):        # the theme returns a BeautifulSoup tree
        for summary in html.find_all("summary"):
            if not summary.get_text(strip=True) and not summary.get("aria-label"):
                summary["aria-label"] = SUMMARY_LABEL
        return html
    if not isinstance(html, str):
        return html
    fixed = _UNNAMED_SUMMARY.sub(f'<summary aria-label="{SUMMARY_LABEL}">', html)
    return Markup(fixed) if isinstance(html, Markup) else fixed


HIDDEN_CELL_SUMMARY = '<summary aria-label="Toggle hidden content">'


def fix_body(body: str) -> str:
    """Two fixes in a page's body HTML.

    * The bibliography's entries are ``role="doc-biblioentry"`` inside ``role="list"``, which
      allows only list items (axe: ``aria-required-children``): the entries become list items.
    * myst-nb's toggle of a hidden code cell is ``<summary aria-label="Toggle hidden content">``
      around the visible text "Show code cell source": a name that does not contain the visible
      label (axe: ``label-content-name-mismatch``). Without the aria-label, the visible text is
      the name.
    """
    if 'class="citation-list"' in body:
        body = body.replace('role="doc-biblioentry"', 'role="listitem"')
    return body.replace(HIDDEN_CELL_SUMMARY, "<summary>")


def page_context(app, pagename, templatename, context, doctree) -> None:
    """Wrap the theme's sidebar generator and rewrite the download menu of one page."""
    generate = context.get("generate_toctree_html")
    if generate is not None and not getattr(generate, "_names_summaries", False):
        def generate_named(*args, **kwargs):
            return _name_summaries(generate(*args, **kwargs))
        generate_named._names_summaries = True
        context["generate_toctree_html"] = generate_named

    if "body" in context:
        context["body"] = fix_body(context["body"])

    pathto = context["pathto"]
    context["book_pdf_url"] = pathto(f"{DOWNLOADS}/{PDF_NAME}", 1)
    context["book_bundle_url"] = pathto(f"{DOWNLOADS}/{BUNDLE_NAME}", 1)
    for group in context.get("header_buttons", []):
        if group.get("label") != "download-buttons":
            continue
        buttons = []
        for button in group["buttons"]:
            if button.get("label") in ("download-notebook-button", "download-source-button"):
                button = {**button, "download": True}
            if button.get("label") == "download-pdf-button":
                button = {**button, "text": "Print this page", "tooltip": "Print this page (or save it as PDF)",
                          "icon": "fas fa-print", "label": "print-page-button"}
            buttons.append(button)
        buttons += [
            {"type": "link", "url": context["book_pdf_url"], "text": "Book (PDF)", "download": PDF_NAME,
             "tooltip": "Download the whole book as a PDF", "icon": "fas fa-file-pdf",
             "label": "download-book-pdf-button"},
            {"type": "link", "url": context["book_bundle_url"], "text": "Notebooks + library (.zip)",
             "download": BUNDLE_NAME, "tooltip": "Download every chapter notebook with backprop_lib, to run locally",
             "icon": "fas fa-file-zipper", "label": "download-bundle-button"},
        ]
        group["buttons"] = buttons


UNUSED_STATIC = ("scripts/fontawesome.js", "scripts/fontawesome.js.map", "scripts/fontawesome.js.LICENSE.txt")


def drop_unused_static(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    for name in UNUSED_STATIC:
        (Path(app.outdir) / "_static" / name).unlink(missing_ok=True)


def setup(app):
    app.connect("doctree-resolved", unique_ids)
    # after the themes' own handlers (pydata: toctree functions; book theme: header buttons, 501)
    app.connect("html-page-context", page_context, priority=900)
    app.add_css_file("site.css")
    app.add_js_file("site.js", loading_method="defer")
    app.connect("build-finished", drop_unused_static)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
