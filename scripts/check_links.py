"""Offline link check of the built site: every internal link and anchor resolves.

    python scripts/check_links.py _build/html      # exit 1 and a list when something is broken

For every page (``*.html`` outside ``_static/``), every ``href`` and ``src`` of ``a``, ``link``,
``script``, ``img``, ``source`` and ``iframe`` that points into the site (no scheme, no host)
must name a file that exists in the build, and a ``#fragment`` must be an ``id`` (or an ``a``
``name``) on the page it points to. Links to other hosts are not followed (the build machine has
no network; tests/test_site.py checks that no page loads anything from another host).
It also lists ids that occur twice on one page (invalid HTML; a link to one of them is ambiguous).
"""

from __future__ import annotations

import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

LINK_ATTRS = {"a": "href", "link": "href", "script": "src", "img": "src", "source": "src", "iframe": "src"}


class _Page(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.repeated: set[str] = set()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            if attrs["id"] in self.ids:
                self.repeated.add(attrs["id"])
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("name"):
            self.ids.add(attrs["name"])
        attr = LINK_ATTRS.get(tag)
        if attr and attrs.get(attr):
            self.links.append(attrs[attr])


def _parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8", errors="replace"))
    return page


def pages(html: Path) -> list[Path]:
    return sorted(p for p in html.rglob("*.html") if "_static" not in p.relative_to(html).parts)


def broken_links(html: Path) -> tuple[list[str], int]:
    """(one line per broken internal link or anchor, how many internal links were checked)."""
    html = html.resolve()
    parsed: dict[Path, _Page] = {}

    def page(path: Path) -> _Page:
        if path not in parsed:
            parsed[path] = _parse(path)
        return parsed[path]

    broken, checked = [], 0
    for source in pages(html):
        for link in page(source).links:
            url = urlsplit(link)
            if url.scheme or url.netloc or link.startswith("//"):
                continue  # another host, mailto:, data:, javascript: ...
            checked += 1
            where = f"{source.relative_to(html)}: {link}"
            target = source if not url.path else (source.parent / unquote(url.path)).resolve()
            if target.is_dir():
                target = target / "index.html"
            if not target.is_relative_to(html):
                broken.append(f"{where} (outside the site)")
                continue
            if not target.is_file():
                broken.append(f"{where} (no file {target.relative_to(html)})")
                continue
            fragment = unquote(url.fragment)
            if fragment and target.suffix == ".html" and fragment not in page(target).ids:
                broken.append(f"{where} (no id {fragment!r} in {target.relative_to(html)})")
    return broken, checked


def duplicate_ids(html: Path) -> list[str]:
    """One line per page that has an id more than once."""
    html = html.resolve()
    return [f"{p.relative_to(html)}: {', '.join(sorted(page.repeated))}"
            for p in pages(html) if (page := _parse(p)).repeated]


def main(argv: list[str]) -> int:
    html = Path(argv[0] if argv else "_build/html")
    broken, checked = broken_links(html)
    for line in broken:
        print(f"broken: {line}")
    repeated = duplicate_ids(html)
    for line in repeated:
        print(f"duplicate ids: {line}")
    print(f"check_links: {checked} internal links on {len(pages(html))} pages, {len(broken)} broken; "
          f"{len(repeated)} page(s) with a duplicate id")
    return 1 if broken or repeated else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
