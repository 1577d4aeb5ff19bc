"""The built website, opened page by page in a real headless Chromium (Playwright driving
Debian's /usr/bin/chromium), served from _build/html by a local HTTP server on 127.0.0.1.

Every page, in one page load: math is typeset by KaTeX (no raw TeX delimiters in the visible
text), no request leaves the machine, no console error; axe-core (npm, pinned in
package-lock.json) finds no serious or critical accessibility violation in the light theme
(WCAG 2.0/2.1 A and AA rules and best practices) nor, for the colour rules, in the dark theme;
and at a phone's width (390 px) the page does not scroll sideways (wide math, tables and code
scroll inside their own box). The table of contents lists every chapter, the search page finds
a chapter by a word in it, chapter pages offer their .ipynb, the book's PDF and the notebook
bundle for download, and screenshots of a chapter (light, and dark with a figure) are kept in
artifacts/.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest
from book_toc import toc_files
from playwright.sync_api import sync_playwright

pytestmark = pytest.mark.book

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
# Chromium itself resolves every host but 127.0.0.1 to "not found": a page that asks for
# anything remote gets an instant failure (recorded by the test) instead of a network wait.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]
TIMEOUT_MS = 120_000  # generous: the API reference is a large page, and CI shares two cores
QUIET_S = 0.5  # a page has settled when no request has been in flight for this long
SCREENSHOT_PAGE = "chapters/01_introduction.html"
AXE_JS = ROOT / "node_modules" / "axe-core" / "axe.min.js"
# The rule set: WCAG 2.0/2.1 levels A and AA and axe's best practices, plus the rule that an
# accessible name contains the visible label (WCAG 2.5.3, "experimental" in axe, so named).
AXE_RULES = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]},
             "rules": {"label-content-name-mismatch": {"enabled": True}}, "resultTypes": ["violations"]}
# In the dark theme only colours change: the rules about colour.
AXE_COLOUR_RULES = {"runOnly": {"type": "rule", "values": ["color-contrast", "link-in-text-block"]},
                    "resultTypes": ["violations"]}
# At phone width, boxes that scroll sideways must be reachable by keyboard.
AXE_PHONE_RULES = {"runOnly": {"type": "rule", "values": ["scrollable-region-focusable"]},
                   "resultTypes": ["violations"]}
BLOCKING = ("serious", "critical")
PHONE = {"width": 390, "height": 844}


DOCS = toc_files()
NOTEBOOK_DOCS = [d for d in DOCS if (ROOT / f"{d}.ipynb").is_file()]


@pytest.fixture(scope="module")
def site(built_book):
    html = built_book / "html"
    server = subprocess.Popen([sys.executable, str(Path(__file__).with_name("static_server.py")), str(html)],
                              stdout=subprocess.PIPE, text=True)
    try:
        port = int(server.stdout.readline())
        yield {"url": f"http://127.0.0.1:{port}", "html": html}
    finally:
        server.kill()
        server.wait()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


class Visit:
    """Open one page and wait until it has settled, recording every request that leaves
    127.0.0.1 and every console error.

    "Settled" is measured here, not with Playwright's ``networkidle``: the page has fired
    ``load`` and no request has been in flight for ``QUIET_S``. If some request never ends,
    the test fails naming it, instead of timing out without saying why.
    """

    def __init__(self, browser, site, path):
        self.base = urlparse(site["url"])
        self.foreign: list[str] = []
        self.errors: list[str] = []
        self.in_flight: dict = {}
        self.last_activity = time.monotonic()
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.context.on("request", self._started)
        self.context.on("requestfinished", self._ended)
        self.context.on("requestfailed", self._ended)
        self.page = self.context.new_page()
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(f"{m.text} ({m.location.get('url')})"))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("response", lambda r: r.status >= 400 and self.errors.append(f"HTTP {r.status}: {r.url}"))
        self.page.set_default_timeout(TIMEOUT_MS)
        self.response = self.page.goto(f"{site['url']}/{path}", wait_until="load")
        self.wait_until_settled(path)

    def _started(self, request):
        url = urlparse(request.url)
        if url.scheme not in ("data", "blob", "about") and url.netloc != self.base.netloc:
            self.foreign.append(request.url)
        self.in_flight[request] = request.url
        self.last_activity = time.monotonic()

    def _ended(self, request):
        self.in_flight.pop(request, None)
        self.last_activity = time.monotonic()

    def wait_until_settled(self, path):
        deadline = time.monotonic() + TIMEOUT_MS / 1000
        while self.in_flight or time.monotonic() - self.last_activity < QUIET_S:
            assert time.monotonic() < deadline, (
                f"{path}: requests still in flight after {TIMEOUT_MS / 1000:.0f} s: {sorted(self.in_flight.values())}")
            self.page.wait_for_timeout(100)  # lets Playwright deliver the request events

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


def axe_violations(page, options) -> list[str]:
    """Run axe-core on the page as it is now; one line per serious or critical violation,
    naming the rule, what it asks for and the elements (CSS selectors) that break it."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=AXE_JS.read_text())
    result = page.evaluate("async (options) => await window.axe.run(document, options)", options)
    return [f"{v['id']} ({v['impact']}: {v['help']}) on {len(v['nodes'])} element(s): "
            + "; ".join(" ".join(n["target"]) + f" {n['html'][:120]!r}" for n in v["nodes"][:4])
            for v in result["violations"] if v["impact"] in BLOCKING]


def set_theme(page, mode: str) -> None:
    """Switch the page to the light or dark theme as the theme's own button does."""
    # No colour transitions: axe must see the new theme's final colours, not a blend that a
    # slow (loaded) machine is still animating.
    page.add_style_tag(content="*, *::before, *::after { transition: none !important; }")
    page.evaluate("""(mode) => { localStorage.setItem('mode', mode);
                                 document.documentElement.dataset.mode = mode;
                                 document.documentElement.dataset.theme = mode; }""", mode)
    page.wait_for_timeout(300)


# What makes a page wider than the screen: the page scrolls sideways (scrollLeft moves), or an
# element of the article pokes out past the right edge with no box around it that scrolls (or
# clips) sideways and itself ends on the screen (then the page itself would be cut off). The
# off-canvas sidebars are not part of the article.
SIDEWAYS_JS = """() => {
  const vw = document.documentElement.clientWidth;
  const se = document.scrollingElement;
  se.scrollLeft = 100000; const scrolled = se.scrollLeft; se.scrollLeft = 0;
  const describe = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
      + (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : '');
  const wide = [];
  for (const el of document.querySelectorAll('.bd-article-container *')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.right <= vw + 1) continue;
    // contained: some box around it scrolls or clips sideways and itself ends on the screen
    let p = el.parentElement, contained = false;
    while (p && p !== document.body && !contained) {
      contained = getComputedStyle(p).overflowX !== 'visible' && p.getBoundingClientRect().right <= vw + 1;
      p = p.parentElement;
    }
    if (!contained) {
      let text = (el.textContent || '').trim().replace(/\\s+/g, ' ').slice(0, 60);
      wide.push(`${describe(el)} reaches ${Math.round(r.right)} px: ${JSON.stringify(text)}`);
    }
  }
  return {viewport: vw, scrollWidth: se.scrollWidth, scrolled, wide};
}"""


def sideways(page) -> list[str]:
    """At the page's current width: why it scrolls sideways (empty when it does not)."""
    r = page.evaluate(SIDEWAYS_JS)
    problems = []
    if r["scrolled"] > 0:
        problems.append(f"the page scrolls sideways by {r['scrolled']} px (content {r['scrollWidth']} px wide, "
                        f"screen {r['viewport']} px)")
    # an element poking out counts once, at its outermost box
    problems += r["wide"][:5]
    return problems


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
    # Same page load: accessibility in both themes, then the phone width (before the text
    # check below, which removes code and math from the page).
    problems = [f"light theme: {p}" for p in axe_violations(page, AXE_RULES)]
    set_theme(page, "dark")
    problems += [f"dark theme: {p}" for p in axe_violations(page, AXE_COLOUR_RULES)]
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(600)  # the theme and site.js update scroll boxes 300 ms after a resize
    problems += [f"at {PHONE['width']} px: {p}" for p in sideways(page)]
    problems += [f"at {PHONE['width']} px: {p}" for p in axe_violations(page, AXE_PHONE_RULES)]
    assert not problems, f"{doc}:\n  " + "\n  ".join(problems)
    set_theme(page, "light")
    page.set_viewport_size({"width": 1280, "height": 900})
    text = page.evaluate(VISIBLE_TEXT_JS)
    for raw in ("$$", "\\[", "\\(", "\\begin{", "\\frac"):
        assert raw not in text, f"{doc}: raw TeX {raw!r} visible: ...{text[max(0, text.find(raw) - 80):text.find(raw) + 80]}..."
    # Any TeX command left in prose (e.g. a {ref} to a heading with math shows the raw source).
    commands = re.findall(r"\\[A-Za-z]{2,}\S*", text)
    assert not commands, f"{doc}: raw TeX visible in the text: {commands[:5]}"
    assert not v.foreign, f"{doc}: requests to other hosts: {v.foreign}"
    assert not v.errors, f"{doc}: console errors: {v.errors}"


def test_a_request_to_another_host_is_caught(visit):
    """The check behind "no request to any host but the local one" can fail: a page that
    asks for a remote image is reported, and the request never leaves the machine."""
    v = visit("intro.html")
    v.page.evaluate("""() => { const img = document.createElement('img');
                               img.src = 'https://cdn.example.com/pixel.png';
                               document.body.appendChild(img); }""")
    v.wait_until_settled("intro.html + remote image")
    assert v.foreign == ["https://cdn.example.com/pixel.png"]
    assert not v.in_flight


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
    assert link.first.get_attribute("download") is not None, f"{doc}: the .ipynb link opens the file instead of saving it"
    # Next to it in the same menu, and in the sidebar: the whole book as a PDF, and the bundle
    # of notebooks with the library (scripts/build_bundle.py), both served by the site.
    for name, kind in (("backprop-derived.pdf", b"%PDF"), ("backprop-derived-notebooks.zip", b"PK\x03\x04")):
        menu = v.page.locator(f'.dropdown-download-buttons a[href$="downloads/{name}"]')
        sidebar = v.page.locator(f'.bd-sidebar-primary a[href$="downloads/{name}"]')
        assert menu.count() == 1 and sidebar.count() == 1, f"{doc}: no link to {name} in the download menu and the sidebar"
        assert sidebar.first.is_visible(), f"{doc}: the sidebar link to {name} is not visible"
        got = v.page.request.get(f"{site['url']}/{Path(doc).parent}/{menu.first.get_attribute('href')}")
        assert got.ok and got.body()[:4] == kind, f"{doc}: {name} -> HTTP {got.status}"


def test_screenshot_of_a_chapter(visit, artifacts):
    v = visit(SCREENSHOT_PAGE)
    v.page.locator("div.math .katex-display").first.scroll_into_view_if_needed()
    path = artifacts / "site-chapter-01.png"
    v.page.screenshot(path=str(path))
    assert path.stat().st_size > 10_000
    assert re.search(r"Introduction", v.page.title())


def test_the_accessibility_and_phone_checks_can_fail(visit):
    """The two checks behind every page's test find what they look for: an image without a
    text alternative, and a box wider than a phone that pushes the page sideways."""
    v = visit("intro.html")
    v.page.evaluate("""() => { const article = document.querySelector('.bd-article');
                               const img = document.createElement('img');
                               img.src = '_static/favicon.svg';
                               article.prepend(img);
                               const wide = document.createElement('div');
                               wide.style.width = '900px';
                               wide.textContent = 'a very wide box';
                               article.prepend(wide); }""")
    found = axe_violations(v.page, AXE_RULES)
    assert any(p.startswith("image-alt (critical") for p in found), found
    v.page.set_viewport_size(PHONE)
    v.page.wait_for_timeout(600)
    found = sideways(v.page)
    assert found and "scrolls sideways" in found[0], found
    assert any("a very wide box" in p for p in found), found


def test_no_broken_internal_link_or_anchor(built_book):
    """Offline link check (scripts/check_links.py): every link and anchor inside the built site
    resolves, including the downloads (the PDF and the notebook bundle) every page links to."""
    from check_links import broken_links

    broken, checked = broken_links(built_book / "html")
    assert checked > 100, f"only {checked} internal links found"
    assert not broken, f"{len(broken)} broken internal link(s):\n  " + "\n  ".join(broken[:20])


def test_no_page_repeats_an_id(built_book):
    """Valid HTML: an id occurs once per page (sphinx-proof and sphinx-exercise repeat theirs;
    _ext/site_fixes.py numbers the repeats)."""
    from check_links import duplicate_ids

    repeated = duplicate_ids(built_book / "html")
    assert not repeated, "ids repeated on a page:\n  " + "\n  ".join(repeated)


def test_the_link_check_can_fail(tmp_path):
    from check_links import broken_links

    (tmp_path / "a.html").write_text('<p id="here">x</p><a href="b.html">b</a><a href="a.html#here">ok</a>'
                                     '<a href="#nowhere">bad</a><img src="_images/x.png"><a href="https://x.org/">ext</a>'
                                     '<span id="here">again</span>')
    broken, checked = broken_links(tmp_path)
    assert checked == 4
    assert sorted(b.split(" (")[1] for b in broken) == ["no file _images/x.png)", "no file b.html)",
                                                       "no id 'nowhere' in a.html)"]
    from check_links import duplicate_ids

    assert duplicate_ids(tmp_path) == ["a.html: here"]


FIGURE_PAGE = "chapters/05_activations.html"

FIGURES_JS = """() => [...document.querySelectorAll('.bd-article img')].map(img => {
  const canvas = document.createElement('canvas');
  canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
  const ctx = canvas.getContext('2d');
  ctx.drawImage(img, 0, 0);
  const corner = [...ctx.getImageData(2, 2, 1, 1).data];   // the figure's own background
  return {src: img.getAttribute('src'), corner, card: getComputedStyle(img).backgroundColor,
          page: getComputedStyle(document.querySelector('.bd-article')).color};
})"""


def _luminance(rgb) -> float:
    r, g, b = (c / 255 for c in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def test_figures_read_well_in_the_dark_theme(visit, artifacts):
    """The chapters' matplotlib figures are drawn on white on purpose (black axes and labels):
    in the dark theme each is an opaque light panel on a white card, not black ink on the dark
    page. A dark-theme screenshot of a figure is kept in artifacts/."""
    v = visit(FIGURE_PAGE)
    set_theme(v.page, "dark")
    figures = v.page.evaluate(FIGURES_JS)
    assert figures, f"{FIGURE_PAGE}: no figure"
    text = v.page.evaluate("() => getComputedStyle(document.querySelector('.bd-article')).color")
    assert _luminance([int(c) for c in re.findall(r"\d+", text)[:3]]) > 0.6, f"not the dark theme: text {text}"
    for fig in figures:
        assert fig["corner"][3] == 255 and _luminance(fig["corner"]) > 0.9, \
            f"{fig['src']}: transparent or dark figure background {fig['corner']} (unreadable on the dark page)"
        card = [int(c) for c in re.findall(r"\d+", fig["card"])[:3]]
        assert card and _luminance(card) > 0.9, f"{fig['src']}: no light card behind the figure ({fig['card']})"
    v.page.locator(".bd-article img").first.scroll_into_view_if_needed()
    path = artifacts / "site-dark-figure.png"
    v.page.screenshot(path=str(path))
    assert path.stat().st_size > 10_000
