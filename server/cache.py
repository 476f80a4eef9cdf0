"""A least-recently-used map bounded both in entries and in total bytes.

Pure data structure: no I/O, no clocks, no locks (callers that share it across threads
hold their own). Sizes come from the caller, so it can cache anything.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class BoundedLru(Generic[K, V]):
    """LRU cache; `put` evicts the least recently used entries until both bounds hold."""

    def __init__(self, max_entries: int, max_bytes: int) -> None:
        if max_entries < 1 or max_bytes < 0:
            raise ValueError("max_entries must be >= 1 and max_bytes >= 0")
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.total_bytes = 0
        self.evictions = 0
        self._items: OrderedDict[K, tuple[V, int]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: K) -> V | None:
        """The value for `key`, marked most recently used; None when absent."""
        item = self._items.get(key)
        if item is None:
            return None
        self._items.move_to_end(key)
        return item[0]

    def put(self, key: K, value: V, size: int) -> bool:
        """Store `value` costing `size` bytes; False (and nothing stored) if it can never fit."""
        self.pop(key)
        if size > self.max_bytes:
            return False
        self._items[key] = (value, size)
        self.total_bytes += size
        while len(self._items) > self.max_entries or self.total_bytes > self.max_bytes:
            _, (_, evicted_size) = self._items.popitem(last=False)
            self.total_bytes -= evicted_size
            self.evictions += 1
        return True

    def pop(self, key: K) -> V | None:
        """Remove `key`; its value, or None when absent."""
        item = self._items.pop(key, None)
        if item is None:
            return None
        self.total_bytes -= item[1]
        return item[0]
