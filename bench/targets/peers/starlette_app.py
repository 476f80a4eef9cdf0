"""Starlette's StaticFiles as a peer, under uvicorn: `uvicorn --factory ...:create_app`.

uvicorn imports the app by name and passes it nothing, so the root comes from the
environment (`ROOT_ENV`, set by `start_peer`). `html=True` is Starlette's own way to
serve a site: `GET /` answers index.html, as ours and nginx do. Symlinks out of the
root are refused (Starlette's default).
"""

from __future__ import annotations

import os

from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from bench.targets.peers.launchers import ROOT_ENV


def create_app() -> Starlette:
    """The app uvicorn builds: StaticFiles on the directory named in `ROOT_ENV`, at /."""
    root = os.environ.get(ROOT_ENV)
    if not root:
        raise RuntimeError(
            f"{ROOT_ENV} is not set: start this peer with bench.targets.peers.start_peer"
        )
    return Starlette(routes=[Mount("/", app=StaticFiles(directory=root, html=True))])
