"""Make build-time KaTeX strict, and point it at the npm KaTeX this project pins.

sphinxcontrib-katex pre-renders math with ``throwOnError: false`` and ignores
``katex_options`` when pre-rendering, so a TeX error becomes a red
``<span class="katex-error">`` in the page and the build still succeeds.  This extension
registers an HTML math renderer, ``katex_strict``, that wraps sphinxcontrib-katex's
visitors and emits a Sphinx *warning* (with the source location) for every formula KaTeX
could not parse.  The strict build runs with ``-W``, so bad TeX fails it.

It also resolves ``katex_js_path`` (the KaTeX library the Node render server loads) against
the book's source directory: sphinxcontrib-katex resolves relative paths against its own
package directory instead.
"""

from __future__ import annotations

import os

from docutils import nodes
from sphinx.util import logging

logger = logging.getLogger(__name__)

KATEX_ERROR_MARK = "katex-error"


def _strict(visitor):
    def visit(self, node):
        start = len(self.body)
        try:
            visitor(self, node)
        finally:
            html = "".join(self.body[start:])
            if KATEX_ERROR_MARK in html:
                logger.warning(
                    "KaTeX could not render %r", node.astext(), location=node, type="katex", subtype="error"
                )

    return visit


def _resolve_katex_js(app, config):
    path = config.katex_js_path
    if path and not os.path.isabs(path) and "://" not in path:
        candidate = os.path.join(app.srcdir, path)
        if os.path.exists(candidate):
            config.katex_js_path = candidate
        else:
            logger.warning(
                "KaTeX library not found at %s: run scripts/setup.sh (npm install)", candidate,
                type="katex", subtype="missing",
            )


def setup(app):
    app.setup_extension("sphinxcontrib.katex")
    from sphinxcontrib import katex as sk

    app.add_html_math_renderer(
        "katex_strict",
        inline_renderers=(_strict(sk.html_visit_math), None),
        block_renderers=(_strict(sk.html_visit_displaymath), None),
    )
    app.connect("config-inited", _resolve_katex_js)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
