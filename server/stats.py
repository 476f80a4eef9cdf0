"""Counters a server process keeps about itself, and how they are handed over.

The bench harness reads them to report cache hit ratios and which send path ran; a
process writes them as JSON on demand (SIGUSR1) and on exit, one file per process.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass


@dataclass
class ServerStats:
    """Plain counters; shells and stores increment them, nothing else reads them hot."""

    connections: int = 0
    requests: int = 0
    errors_4xx_5xx: int = 0
    internal_errors: int = 0
    cache_hits: int = 0
    cache_misses: int = 0
    cache_evictions: int = 0
    file_reads: int = 0
    sendfile_responses: int = 0  # large bodies sent with os.sendfile
    copied_responses: int = 0  # large bodies sent by reading and writing chunks
    refused_connections: int = 0  # over --max-connections
    client_disconnects: int = 0  # clients that left mid-response (not errors)
    send_timeouts: int = 0  # clients dropped after --send-timeout without progress
    accept_failures: int = 0  # back-offs after accept() failed (e.g. out of descriptors)

    def write(self, directory: str, variant: str, cache: str, reader: str | None) -> str:
        """Write this process's counters to `directory/stats-<pid>.json`; returns the path."""
        path = os.path.join(directory, f"stats-{os.getpid()}.json")
        names = {"variant": variant, "cache": cache, "reader": reader}
        record = {"pid": os.getpid(), **names, **asdict(self)}
        temporary = path + ".tmp"
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump(record, handle)
        os.replace(temporary, path)  # readers never see a half-written file
        return path
