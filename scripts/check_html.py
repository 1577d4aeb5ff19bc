"""Check a built site for what a strict Sphinx build cannot see.

Usage: python scripts/check_html.py _build/html

Fails (exit 1) when a page
- contains a KaTeX error (``katex-error``: TeX that KaTeX could not parse; the build-time
  renderer does not raise, see _ext/strict_katex.py),
- loads a script, stylesheet, font, image or frame from another host (``src=``/``href=`` of
  ``<script>``, ``<link>``, ``<img>``, ``<iframe>``, ``<source>``; links in prose are fine), or
  ``url(http...)`` in a local stylesheet,
- still contains MathJax,
- shows a NumPy scalar's repr (``np.float64(0.25)``) in prose: a number glued without
  ``backprop_lib.book.glue``,
- or has no pages at all.
"""

from __future__ import annotations

import re
import sys
from html.parser import HTMLParser
from pathlib import Path

LOADING = {"script": "src", "img": "src", "iframe": "src", "source": "src", "audio": "src",
           "video": "src", "embed": "src", "link": "href"}
REMOTE = re.compile(r"^(https?:)?//", re.I)
NUMPY_REPR = re.compile(r"np\.(?:float|int|uint|bool|complex)\w*\(")
CODE_BLOCK = re.compile(r"<pre.*?</pre>|<code.*?</code>", re.S)


class _Loads(HTMLParser):
    def __init__(self):
        super().__init__()
        self.remote: list[str] = []

    def handle_starttag(self, tag, attrs):
        attr = LOADING.get(tag)
        if not attr:
            return
        values = dict(attrs)
        url = values.get(attr) or ""
        if tag == "link" and not ({"stylesheet", "icon", "preload", "modulepreload", "manifest"}
                                  & set((values.get("rel") or "").lower().split())):
            return  # <link rel="canonical|next|prev|index|search">: navigation, loads nothing
        if REMOTE.match(url):
            self.remote.append(f"<{tag} {attr}={url}>")


def problems(site: Path) -> list[str]:
    found: list[str] = []
    pages = sorted(site.rglob("*.html"))
    if not pages:
        return [f"{site}: no HTML pages (was the book built?)"]
    for page in pages:
        rel = page.relative_to(site)
        text = page.read_text(encoding="utf-8")
        if "katex-error" in text:
            for m in re.finditer(r'<span class="katex-error"[^>]*title="([^"]*)"', text):
                found.append(f"{rel}: KaTeX error: {m.group(1)}")
            if not any(str(rel) in p for p in found):
                found.append(f"{rel}: KaTeX error")
        parser = _Loads()
        parser.feed(text)
        found += [f"{rel}: loads from another host: {r}" for r in parser.remote]
        prose = CODE_BLOCK.sub("", text)
        for m in NUMPY_REPR.finditer(prose):
            found.append(f"{rel}: NumPy scalar repr in prose near {prose[m.start():m.start() + 40]!r} "
                         "(glue with backprop_lib.book.glue)")
        if re.search(r"<script[^>]+mathjax", text, re.I):
            found.append(f"{rel}: loads MathJax")
    for css in sorted(site.rglob("*.css")):
        for m in re.finditer(r"url\(\s*['\"]?((?:https?:)?//[^)'\"]+)", css.read_text(encoding="utf-8", errors="replace")):
            found.append(f"{css.relative_to(site)}: stylesheet loads {m.group(1)}")
    return found


def main(argv: list[str]) -> int:
    site = Path(argv[1] if len(argv) > 1 else "_build/html")
    found = problems(site)
    for p in found:
        print(f"check_html: {p}", file=sys.stderr)
    n = len(list(site.rglob("*.html")))
    if found:
        print(f"check_html: FAILED, {len(found)} problem(s) in {site}", file=sys.stderr)
        return 1
    print(f"check_html: {n} pages OK (no KaTeX errors, nothing loaded from another host, no MathJax)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
