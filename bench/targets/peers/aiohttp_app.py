"""aiohttp's own static route as a peer:
`python -m bench.targets.peers.aiohttp_app --root R --port P`.

Only aiohttp's built-in handling: `web.static` with no directory listing and no symlinks
out of the root (its defaults, spelled out), access log off, on 127.0.0.1 only. `GET /`
is aiohttp's answer for a directory without a listing (403), not index.html.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from aiohttp import web


def make_app(root: Path) -> web.Application:
    """An application whose only route is aiohttp's static handler for `root` at /."""
    app = web.Application()
    app.add_routes([web.static("/", root, show_index=False, follow_symlinks=False)])
    return app


def serve(root: Path, port: int, backlog: int) -> None:
    """Serve until SIGTERM/SIGINT (run_app handles both); a short grace so stops are quick."""
    web.run_app(
        make_app(root),
        host="127.0.0.1",
        port=port,
        backlog=backlog,
        access_log=None,
        print=None,
        shutdown_timeout=2.0,
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the command line, then serve."""
    parser = argparse.ArgumentParser(description="aiohttp's static route on 127.0.0.1")
    parser.add_argument("--root", type=Path, required=True, help="directory to serve")
    parser.add_argument("--port", type=int, required=True, help="port on 127.0.0.1")
    parser.add_argument("--backlog", type=int, default=1024, help="listen queue length")
    options = parser.parse_args(argv)
    serve(options.root, options.port, options.backlog)


if __name__ == "__main__":
    main()
