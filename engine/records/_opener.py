"""Opener: TLS 1.3 records in, plaintext and inner content types out (RFC 8446 section 5.2)."""

from __future__ import annotations

import threading

from ..errors import RecordAuthenticationError, RecordError, RecordOverflowError, UnexpectedMessageError
from ._outcome import Opened
from ._select import choose, make_key
from ._suites import (
    HEADER_SIZE,
    TAG_SIZE,
    byte_view,
    check_key,
    check_seq,
    check_threads,
    suite_named,
    writable_view,
)


def _plaintext_bound(wire: memoryview) -> int:
    """Room enough for the plaintext of every complete record at the front of ``wire``."""
    total = pos = 0
    end = len(wire)
    while end - pos >= HEADER_SIZE:
        length = (wire[pos + 3] << 8) | wire[pos + 4]
        if end - pos - HEADER_SIZE < length:
            break
        total += max(length - TAG_SIZE, 0)
        pos += HEADER_SIZE + length
    return total


class Opener:
    """Opens the records one side receives, with one traffic key and static IV.

    ``open``/``open_into`` take every complete record at the front of the wire bytes whose outer
    type is application_data (23). They stop at an incomplete record, before a record of another
    outer type, and after a record whose inner content type is not 23 (a handshake message or an
    alert may change the keys for what follows). ``seq`` is the sequence number of the next
    record; it advances by the number of records opened, also when an error stops the call.

    Errors (each with ``index``, ``segments`` and ``consumed`` for the records before the bad
    one): RecordAuthenticationError when a record fails authentication (none of its plaintext is
    released), RecordOverflowError for a record longer than 2^14 + 256 or with an inner plaintext
    over 2^14 + 1 bytes (section 5.2), UnexpectedMessageError for an inner plaintext of all zeros
    (section 5.4), RecordError once sequence numbers are used up.
    """

    def __init__(self, suite: str, key, iv, *, seq: int = 0, backend: str | None = None):
        self._suite = suite_named(suite)
        key, iv = check_key(self._suite, key, iv)
        self._seq = check_seq(seq)
        self.backend = choose(backend)
        self._key = make_key(self.backend, self._suite, key, iv)
        self._lock = threading.Lock()

    @property
    def suite(self) -> str:
        return self._suite.name

    @property
    def seq(self) -> int:
        """The sequence number the next record is expected to carry."""
        return self._seq

    def __repr__(self) -> str:
        return "Opener(%s, seq=%d, backend=%s)" % (self._suite.name, self._seq, self.backend)

    def open(self, wire, *, threads: int = 1) -> tuple[list[tuple[int, bytes]], int]:
        """``([(content_type, plaintext), ...], bytes consumed)`` for the records at the front."""
        check_threads(threads)
        view = byte_view(wire)
        out = bytearray(_plaintext_bound(view))
        mv = memoryview(out)
        try:
            segments, consumed = self._open(mv, view, threads)
        except (RecordError, RecordOverflowError, UnexpectedMessageError) as exc:
            exc.segments = [(t, bytes(mv[o : o + n])) for t, o, n in exc.segments]
            raise
        return [(t, bytes(mv[o : o + n])) for t, o, n in segments], consumed

    def open_into(self, buffer, wire, *, threads: int = 1) -> tuple[list[tuple[int, int, int]], int]:
        """``([(content_type, offset, length), ...], bytes consumed)``, plaintext in ``buffer``.

        The plaintexts lie one after another from the start of ``buffer``. Each record needs room
        for its whole inner plaintext (ciphertext length - 16) at its offset; when the next record
        does not fit the call stops there, and ValueError is raised if not even the first fits.
        """
        check_threads(threads)
        return self._open(writable_view(buffer), byte_view(wire), threads)

    def _open(self, out: memoryview, wire: memoryview, threads: int):
        with self._lock:
            result = self._key.open_into(out, wire, self._seq, threads)
            self._seq += result.records
        return self._outcome(result)

    def _outcome(self, result: Opened):
        error = result.error
        if error is None or (error == "space" and result.records > 0):
            return result.segments, result.consumed
        index = result.records
        if error == "space":
            raise ValueError("the output buffer is too small for the first record's plaintext")
        if error == "auth":
            exc = RecordAuthenticationError(
                "record %d failed authentication" % index, index, result.segments, result.consumed
            )
        elif error == "overflow":
            exc = RecordOverflowError("record %d is longer than TLS 1.3 allows" % index)
        elif error == "unexpected":
            exc = UnexpectedMessageError("record %d has no content type (all zeros)" % index)
        else:
            exc = RecordError("record %d would need a sequence number past 2^64 - 1" % index)
        exc.index = index
        exc.segments = list(result.segments)
        exc.consumed = result.consumed
        raise exc
