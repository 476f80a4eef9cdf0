"""`large`: the ~1 MiB file — bandwidth and the send path (sendfile or copy)."""

from locust import task

from bench.engines.locust.scenarios.base import StaticUser, size_of
from bench.engines.locust.scenarios.paths import LARGE


class LargeFile(StaticUser):
    """GET the 1 MiB file on a persistent connection."""

    @task
    def large(self) -> None:
        self.expect(LARGE, 200, size_of(LARGE))
