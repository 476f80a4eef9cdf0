"""A server whose file system is slow for one path, without FUSE.

`python -m tests.slow_resolve_server TRAP SECONDS [SERVER ARGS...]` patches
`SiteRoot.resolve` to sleep SECONDS (logging one INFO line when it starts) before resolving
the URL path TRAP, then runs `server.cli.main` as `python -m server` would. Every other
path resolves as usual, so a test can tell whether a slow resolution stalls other clients.
"""

from __future__ import annotations

import logging
import sys
import time

from server.cli import main
from server.files import Lookup, SiteRoot

STARTED = "slow resolve: sleeping"  # the INFO line a test waits for


def slow_down(trap: str, seconds: float) -> None:
    """Make resolving `trap` take `seconds` longer, in this process."""
    resolve = SiteRoot.resolve

    def slow(self: SiteRoot, url_path: str) -> Lookup:
        if url_path == trap:
            logging.getLogger("staticbench").info("%s %.1f s on %s", STARTED, seconds, trap)
            time.sleep(seconds)
        return resolve(self, url_path)

    SiteRoot.resolve = slow  # type: ignore[method-assign]


if __name__ == "__main__":
    trap, seconds, *server_args = sys.argv[1:]
    slow_down(trap, float(seconds))
    raise SystemExit(main(server_args))
