"""Throttling of failed logins, per user name and per client address.

After ``limit`` failures within ``window`` seconds, a name or an address is refused until the
oldest of those failures leaves the window. Names are counted whether or not such a user
exists, so the answers do not tell which names are real. Memory is bounded: at most
``max_keys`` names and addresses are tracked, the least recently failed dropped first.
"""

from __future__ import annotations

import collections
import threading
import time


class LoginThrottle:
    def __init__(self, limit: int = 5, window: float = 900.0, max_keys: int = 10000,
                 clock=time.monotonic):
        if limit < 1 or window <= 0:
            raise ValueError("limit must be at least 1 and window positive")
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self._clock = clock
        self._failures: collections.OrderedDict = collections.OrderedDict()
        self._lock = threading.Lock()

    def _recent(self, key, now: float) -> collections.deque:
        times = self._failures.get(key)
        if times is None:
            return collections.deque()
        while times and now - times[0] >= self.window:
            times.popleft()
        if not times:
            del self._failures[key]
        return times

    def blocked(self, user: str, address: str) -> bool:
        """Whether a login for ``user`` from ``address`` is refused now."""
        now = self._clock()
        with self._lock:
            return any(len(self._recent(key, now)) >= self.limit
                       for key in (("user", user), ("address", address)))

    def failed(self, user: str, address: str) -> None:
        now = self._clock()
        with self._lock:
            for key in (("user", user), ("address", address)):
                times = self._recent(key, now)
                times.append(now)
                self._failures[key] = times
                self._failures.move_to_end(key)
            while len(self._failures) > self.max_keys:
                self._failures.popitem(last=False)

    def succeeded(self, user: str) -> None:
        """A right password clears the name's failures (not the address's)."""
        with self._lock:
            self._failures.pop(("user", user), None)
