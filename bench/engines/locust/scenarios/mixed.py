"""`mixed`: page visits — html, css, js, image, json, ~5% missing, revisits conditional.

A visit fetches the page and its assets. On a revisit, half of the fetches carry the ETag
the user saw (If-None-Match) and must come back 304 with no body.
"""

import random

from locust import task

from bench.engines.locust.scenarios.base import NOT_FOUND_PAGE, StaticUser, size_of
from bench.engines.locust.scenarios.paths import PAGE

ASSETS = {PAGE: 4, "/css/style.css": 3, "/js/app.js": 3, "/img/logo.png": 2, "/data/site.json": 2}
MISSING_SHARE = 0.05
CONDITIONAL_SHARE = 0.5


class MixedVisit(StaticUser):
    """A browser-like mix, remembering ETags between visits."""

    def on_start(self) -> None:
        self.etags: dict[str, str] = {}

    @task
    def visit(self) -> None:
        if random.random() < MISSING_SHARE:
            path = f"/old/{random.randrange(50)}.html"
            self.expect(path, 404, size_of(NOT_FOUND_PAGE), name="/old/[n].html")
            return
        path = random.choices(list(ASSETS), weights=list(ASSETS.values()))[0]
        etag = self.etags.get(path)
        if etag is not None and random.random() < CONDITIONAL_SHARE:
            self.expect(path, 304, 0, headers={"If-None-Match": etag}, name=f"{path} (304)")
            return
        etag = self.expect(path, 200, size_of(path)).get("etag")  # header names: lower case
        if etag is not None:
            self.etags[path] = etag
