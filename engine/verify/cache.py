"""A bounded map for the parsed objects engine.verify keeps across calls.

Lookups are plain dictionary reads (atomic under the GIL, no lock, no bookkeeping), so a hit
costs what a dict lookup costs; when the map is full the oldest insertions are dropped. An
object evicted while a call still uses it stays alive through that call's own references.
"""

from __future__ import annotations

import threading


class BoundedCache:
    """At most ``size`` entries; the oldest inserted go first, an eighth at a time."""

    def __init__(self, size: int):
        self.size = size
        self._items: dict = {}
        self._lock = threading.Lock()

    def get(self, key, default=None):
        return self._items.get(key, default)

    def get_or_make(self, key, make):
        """The value of ``key``; made by ``make(key)`` and kept when there is none."""
        found = self._items.get(key)
        return self.put(key, make(key)) if found is None else found

    def get_many(self, keys) -> list:
        """The value (or None) of each key, in one pass."""
        return list(map(self._items.get, keys))

    def put(self, key, value):
        self.put_many(((key, value),))
        return value

    def put_many(self, pairs) -> None:
        """Insert several (key, value) pairs under one lock."""
        with self._lock:
            items = self._items
            items.update(pairs)
            if len(items) > self.size:
                # Drop the oldest eighth at once, so that insertions stay O(1) on average.
                excess = len(items) - self.size + max(1, self.size // 8)
                for old in [k for _, k in zip(range(excess), items)]:
                    del items[old]

    def __len__(self) -> int:
        return len(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
