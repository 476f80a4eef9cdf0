"""`range`: byte ranges of the 100 KiB file — each must come back 206 with exactly its bytes."""

import random

from locust import task

from bench.engines.locust.scenarios.base import StaticUser, size_of

FILE = "/generated/100k.bin"


class ByteRanges(StaticUser):
    """GET random single ranges, as a video player or a resumed download would."""

    @task
    def byte_range(self) -> None:
        size = size_of(FILE)
        first = random.randrange(size)
        last = min(size - 1, first + random.randrange(1, 16 * 1024))
        headers = {"Range": f"bytes={first}-{last}"}
        self.expect(FILE, 206, last - first + 1, headers=headers, name=f"{FILE} (range)")
