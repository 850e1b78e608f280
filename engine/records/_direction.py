"""What a Sealer and an Opener share: one direction's suite, traffic key, static IV and sequence
number (RFC 8446 section 5.3), and the backend that protects its records."""

from __future__ import annotations

import threading

from .._buffers import BytesLike
from .. import _backend
from ._suites import check_key, check_seq, suite_named


class Direction:
    """One direction of a connection's record protection; subclasses say which (``_ENCRYPT``).

    ``seq`` is the sequence number of the next record, kept by the key object. ``backend`` is
    ``"native"``, ``"python"`` or None (ENGINE_BACKEND). Calls on one object run one at a time,
    under its lock.
    """

    _ENCRYPT: bool

    def __init__(self, suite: str, key: BytesLike, iv: BytesLike, *, seq: int = 0,
                 backend: str | None = None) -> None:
        self._suite = suite_named(suite)
        key, iv = check_key(self._suite, key, iv)
        seq = check_seq(seq)
        self.backend = _backend.record_backend(backend)
        self._key = _backend.record_key(self.backend, self._suite, key, iv, self._ENCRYPT, seq)
        self._lock = threading.Lock()

    @property
    def suite(self) -> str:
        return self._suite.name

    @property
    def seq(self) -> int:
        """The sequence number of the next record."""
        with self._lock:
            return self._key.seq

    def __repr__(self) -> str:
        return "%s(%s, seq=%d, backend=%s)" % (type(self).__name__, self._suite.name, self.seq,
                                              self.backend)
