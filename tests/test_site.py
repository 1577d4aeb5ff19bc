"""The built website, opened page by page in a real headless Chromium (Playwright driving
Debian's /usr/bin/chromium), served from _build/html by a local HTTP server on 127.0.0.1.

Every page: math is typeset by KaTeX (no raw TeX delimiters in the visible text), no request
leaves the machine, no console error. The table of contents lists every chapter, the search
page finds a chapter by a word in it, chapter pages offer their .ipynb for download, and a
screenshot of a chapter is kept in artifacts/.
"""

from __future__ import annotations

import functools
import http.server
import json
import re
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest
from book_toc import toc_files
from playwright.sync_api import sync_playwright

pytestmark = pytest.mark.book

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOT_PAGE = "chapters/01_introduction.html"


DOCS = toc_files()
NOTEBOOK_DOCS = [d for d in DOCS if (ROOT / f"{d}.ipynb").is_file()]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def site(built_book):
    html = built_book / "html"
    handler = functools.partial(_QuietHandler, directory=str(html))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {"url": f"http://127.0.0.1:{server.server_address[1]}", "html": html}
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


class Visit:
    """Open one page, recording every request to another host (blocked) and console errors."""

    def __init__(self, browser, site, path):
        self.base = urlparse(site["url"])
        self.foreign: list[str] = []
        self.errors: list[str] = []
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        # generous timeouts: the API reference is a large page, and CI shares two cores
        self.page.set_default_timeout(120_000)
        self.response = self.page.goto(f"{site['url']}/{path}", wait_until="load")
        self.page.wait_for_load_state("networkidle")

    def _route(self, route):
        url = urlparse(route.request.url)
        if url.scheme in ("data", "blob", "about") or url.netloc == self.base.netloc:
            route.continue_()
        else:
            self.foreign.append(route.request.url)
            route.abort()

    def close(self):
        self.context.close()


@pytest.fixture
def visit(browser, site):
    opened = []

    def _open(path):
        v = Visit(browser, site, path)
        opened.append(v)
        return v

    yield _open
    for v in opened:
        v.close()


VISIBLE_TEXT_JS = """() => {
  for (const el of document.querySelectorAll('pre, code, script, style, textarea, .katex, .highlight'))
    el.remove();
  return document.body.innerText;
}"""


@pytest.mark.parametrize("doc", DOCS + ["search", "genindex"])
def test_page(visit, site, doc):
    v = visit(f"{doc}.html")
    assert v.response is not None and v.response.ok, f"{doc}.html: HTTP {v.response and v.response.status}"
    page = v.page
    math = page.locator("span.math, div.math")
    typeset = page.locator("span.math .katex, div.math .katex")
    assert typeset.count() == math.count(), f"{doc}: {math.count() - typeset.count()} formula(s) not typeset"
    assert page.locator(".katex-error").count() == 0, f"{doc}: KaTeX error on the page"
    if "$" in (ROOT / f"{doc}.md").read_text() if (ROOT / f"{doc}.md").is_file() else False:
        assert typeset.count() > 0, f"{doc}: the source has math but the page shows none typeset"
    text = page.evaluate(VISIBLE_TEXT_JS)
    for raw in ("$$", "\\[", "\\(", "\\begin{", "\\frac"):
        assert raw not in text, f"{doc}: raw TeX {raw!r} visible: ...{text[max(0, text.find(raw) - 80):text.find(raw) + 80]}..."
    # Any TeX command left in prose (e.g. a {ref} to a heading with math shows the raw source).
    commands = re.findall(r"\\[A-Za-z]{2,}\S*", text)
    assert not commands, f"{doc}: raw TeX visible in the text: {commands[:5]}"
    assert not v.foreign, f"{doc}: requests to other hosts: {v.foreign}"
    assert not v.errors, f"{doc}: console errors: {v.errors}"


def test_math_pages_are_typeset(visit):
    for doc in ("intro", "chapters/01_introduction"):
        v = visit(f"{doc}.html")
        assert v.page.locator("div.math .katex-display").count() >= 1, f"{doc}: no display math typeset"
        # KaTeX's fonts are served locally and actually used
        fonts = v.page.evaluate("() => [...document.fonts].filter(f => f.status === 'loaded').map(f => f.family)")
        assert any("KaTeX" in f for f in fonts), f"{doc}: KaTeX fonts not loaded: {fonts}"


def test_navigation_lists_every_chapter_and_next_link_works(visit):
    v = visit("intro.html")
    links = v.page.locator("nav.bd-docs-nav a.reference.internal")
    hrefs = {urlparse(links.nth(i).get_attribute("href")).path.removesuffix(".html") for i in range(links.count())}
    missing = [d for d in DOCS[1:] if d not in hrefs]
    assert not missing, f"sidebar table of contents lacks: {missing}"
    first = v.page.locator('nav.bd-docs-nav a.reference.internal[href="chapters/01_introduction.html"]')
    assert first.inner_text().strip().startswith("1. "), "chapters are numbered in the table of contents"
    v.page.locator("a.right-next").first.click()
    v.page.wait_for_load_state("load")
    assert v.page.url.endswith("chapters/01_introduction.html")
    assert "Introduction" in v.page.locator("h1").first.inner_text()


def test_search_finds_a_chapter(visit):
    v = visit("search.html?q=autograd")
    v.page.wait_for_selector("#search-results .search-summary", timeout=30_000)
    results = v.page.locator("#search-results ul.search li a")
    hrefs = [results.nth(i).get_attribute("href") for i in range(results.count())]
    assert any("chapters/01_introduction" in h for h in hrefs), f"search for 'autograd' found: {hrefs}"
    assert not v.foreign and not v.errors


@pytest.mark.parametrize("doc", NOTEBOOK_DOCS)
def test_chapter_offers_its_notebook(visit, site, doc):
    v = visit(f"{doc}.html")
    link = v.page.locator('a[href$=".ipynb"]')
    assert link.count() >= 1, f"{doc}: no download-.ipynb button"
    href = link.first.get_attribute("href")
    response = v.page.request.get(f"{site['url']}/{Path(doc).parent}/{href}")
    assert response.ok, f"{doc}: {href} -> HTTP {response.status}"
    nb = json.loads(response.body())
    assert nb["nbformat"] == 4 and nb["cells"]


def test_screenshot_of_a_chapter(visit, artifacts):
    v = visit(SCREENSHOT_PAGE)
    v.page.locator("div.math .katex-display").first.scroll_into_view_if_needed()
    path = artifacts / "site-chapter-01.png"
    v.page.screenshot(path=str(path))
    assert path.stat().st_size > 10_000
    assert re.search(r"Introduction", v.page.title())
