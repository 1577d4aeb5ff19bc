"""Serve a directory on 127.0.0.1 for the browser tests, in its own process.

    python tests/static_server.py DIRECTORY

binds a free port, prints it on the first line of stdout and serves until killed. A separate
process keeps the server off the test process's GIL (Playwright's sync API runs its event loop
there), and a deep listen backlog stops Chromium's parallel connections from being dropped and
retried when the machine is loaded.
"""

from __future__ import annotations

import functools
import http.server
import sys


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class _Server(http.server.ThreadingHTTPServer):
    request_queue_size = 128
    daemon_threads = True


def main(directory: str) -> None:
    handler = functools.partial(_QuietHandler, directory=directory)
    with _Server(("127.0.0.1", 0), handler) as server:
        print(server.server_address[1], flush=True)
        server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1])
