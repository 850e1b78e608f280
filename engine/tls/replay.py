"""The server's defence against replayed 0-RTT data (RFC 8446 section 8).

0-RTT data is not protected against replay by the protocol: an attacker who recorded a
ClientHello and its early data can send them again. A server that accepts early data must
limit that to one acceptance per ClientHello. :class:`AntiReplay` combines the two mechanisms
of section 8:

- **freshness** (8.3): the client's view of the ticket age (from ``obfuscated_ticket_age``)
  must agree with the server's (from the issue time sealed in the ticket) within ``window``
  seconds; a ClientHello replayed later than that is refused early data;
- **ClientHello recording** (8.2): a strike register of the PSK binders (unique per
  ClientHello) accepted within the last two windows; a binder seen before is refused early
  data. Once ``capacity`` binders are held, early data is refused until old ones expire:
  when in doubt the server goes 1-RTT, never replays.

Refusal only costs the round trip: the handshake goes on and the client resends its data after
it. The register lives in this process: servers sharing tickets (a common ticket key file) each
keep their own, so an attacker could replay a ClientHello once to each of them. Accept early
data on one process per ticket key, or only for requests that are safe to replay (section 8,
appendix E.5), or pass an object with the same ``accept`` method backed by a shared store.
"""

from __future__ import annotations

import collections
import threading
import time


class AntiReplay:
    """A strike register of ClientHello binders over a freshness window (RFC 8446 8.2, 8.3)."""

    def __init__(self, window: float = 10.0, capacity: int = 100_000, clock=time.monotonic):
        if not 0 < window <= 3600:
            raise ValueError("the anti-replay window is 0 to 3600 seconds")
        self.window = float(window)
        self.capacity = int(capacity)
        self._clock = clock
        self._seen: set = set()
        self._order: collections.deque = collections.deque()  # (expiry, binder), oldest first
        self._lock = threading.Lock()

    def fresh(self, client_age_ms: int, server_age_ms: int) -> bool:
        """Whether the client's and the server's view of the ticket age agree (section 8.3)."""
        return abs(client_age_ms - server_age_ms) <= self.window * 1000

    def accept(self, binder: bytes) -> bool:
        """Record the binder of a ClientHello whose early data is to be accepted; False if it
        was seen within the register's time (a replay) or the register is full."""
        now = self._clock()
        with self._lock:
            order, seen = self._order, self._seen
            while order and order[0][0] <= now:
                seen.discard(order.popleft()[1])
            if binder in seen or len(seen) >= self.capacity:
                return False
            seen.add(binder)
            order.append((now + 2 * self.window, binder))
            return True

    def __len__(self) -> int:
        with self._lock:
            return len(self._seen)
