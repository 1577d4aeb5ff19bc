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

And it makes the Node render server's start-up safe on a loaded machine. sphinxcontrib-katex
connects as soon as the server's socket file exists, but the server may not be listening yet.
Under load that connection is refused and the build crashes, leaving the Node server running,
and the orphan holds the build's stderr open. ``_start_server_process`` retries the connection
until the start-up timeout, and kills the server if it never answers. The start-up and render
timeouts go from 5 s to 60 s, because two cores shared with a test run can be that slow.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time

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


SERVER_TIMEOUT_S = 60.0


def _start_server_process(cls, rundir, timeout):
    """Start the KaTeX render server on a unix socket in ``rundir``; return (process, socket).

    Unlike sphinxcontrib-katex's version, a refused connection (socket file bound, server not yet
    listening) is retried until ``timeout``, and the server is killed if the start fails.
    """
    socket_path = rundir / "katex.sock"
    process = subprocess.Popen(cls.build_command(socket=socket_path), stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, cwd=rundir)
    deadline = time.monotonic() + timeout
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the KaTeX render server exited with code {process.returncode} at start-up")
            if socket_path.is_socket():
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    sock.connect(str(socket_path))
                    return process, sock
                except (ConnectionRefusedError, FileNotFoundError):
                    sock.close()
            if time.monotonic() > deadline:
                raise cls.timeout_error(timeout)
            time.sleep(0.005)
    except BaseException:
        process.kill()
        process.wait()
        raise


def setup(app):
    app.setup_extension("sphinxcontrib.katex")
    from sphinxcontrib import katex as sk

    sk.KaTeXServer.start_server_process = classmethod(_start_server_process)
    sk.STARTUP_TIMEOUT = sk.RENDER_TIMEOUT = SERVER_TIMEOUT_S

    app.add_html_math_renderer(
        "katex_strict",
        inline_renderers=(_strict(sk.html_visit_math), None),
        block_renderers=(_strict(sk.html_visit_displaymath), None),
    )
    app.connect("config-inited", _resolve_katex_js)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
