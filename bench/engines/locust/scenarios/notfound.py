"""`notfound`: missing paths — a 404 with the not-found page; a 200 is a failure."""

import random

from locust import task

from bench.engines.locust.scenarios.base import NOT_FOUND_PAGE, StaticUser, size_of


class NotFound(StaticUser):
    """GET paths that do not exist (a few distinct ones, as a crawler would)."""

    @task
    def missing(self) -> None:
        path = f"/missing/{random.randrange(100)}.html"
        self.expect(path, 404, size_of(NOT_FOUND_PAGE), name="/missing/[n].html")
