"""Paths of the demo site the scenarios request, without importing locust.

The wrk engine (`bench.engines.wrk.engine`) runs in the runner's process, where locust must never be
imported; the locust scenarios and the wrk engine both read their paths from here.
"""

from __future__ import annotations

PAGE = "/index.html"  # the 1 KiB page
LARGE = "/generated/1m.bin"  # the ~1 MiB file
