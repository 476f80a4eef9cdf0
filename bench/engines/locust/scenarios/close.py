"""`close`: the 1 KiB page with `Connection: close` — one request per connection, as in the post."""

from locust import task

from bench.engines.locust.scenarios.base import StaticUser, size_of
from bench.engines.locust.scenarios.paths import PAGE


class ClosePerRequest(StaticUser):
    """Every request opens and closes its own connection."""

    @task
    def page(self) -> None:
        self.expect(PAGE, 200, size_of(PAGE), headers={"Connection": "close"})
