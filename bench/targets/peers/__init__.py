"""Reference peers: well-known servers measured on the same site and cores as ours.

`PEERS` names them (nginx, aiohttp, uvicorn + Starlette) with a cheap availability check
and a version line for run metadata; `start_peer` runs one, pinned, on 127.0.0.1 and a
free port, ready once GET /index.html answers 200, and always stops it. Nothing here
imports a peer's own packages (nor locust): they load only in the peer's process.
"""

from __future__ import annotations

from bench.targets.peers.launch import PeerServer, start_peer
from bench.targets.peers.registry import PEERS, Peer

__all__ = ["PEERS", "Peer", "PeerServer", "start_peer"]
