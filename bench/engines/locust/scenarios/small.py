"""`small`: the 1 KiB page over keep-alive connections — the rate a server sustains."""

from locust import task

from bench.engines.locust.scenarios.base import StaticUser, size_of
from bench.engines.locust.scenarios.paths import PAGE


class SmallPage(StaticUser):
    """GET /index.html, again and again, on a persistent connection."""

    @task
    def page(self) -> None:
        self.expect(PAGE, 200, size_of(PAGE))
