"""Opener: TLS 1.3 records in, plaintext and inner content types out (RFC 8446 section 5.2)."""

from __future__ import annotations

from .._buffers import BytesLike, WritableBuffer
from ..errors import (
    RecordAuthenticationError,
    RecordContentTypeError,
    RecordLengthError,
    RecordSequenceError,
)
from ._direction import Direction
from ._suites import check_threads, input_buffer, output_buffer, release_view


class Opener(Direction):
    """Opens the records one side receives, with one traffic key and static IV.

    ``open``/``open_into`` take every complete record at the front of the wire bytes whose outer
    type is application_data (23). They stop at an incomplete record, before a record of another
    outer type, and after a record whose inner content type is not 23 (a handshake message or an
    alert may change the keys for what follows). legacy_record_version is not checked (RFC 8446
    section 5.1), but the header is authenticated as the additional data. ``seq`` is the
    sequence number of the next record; it advances by the number of records opened, also when
    an error stops the call.

    Errors (each a RecordBatchStop, with ``index``, ``segments`` and ``consumed`` for the records
    before the bad one): RecordAuthenticationError when a record fails authentication (none of
    its plaintext is released), RecordLengthError (a RecordOverflowError) for a record longer
    than 2^14 + 256 or with an inner plaintext over 2^14 + 1 bytes (section 5.2),
    RecordContentTypeError (an UnexpectedMessageError) for an inner plaintext of all zeros
    (section 5.4), RecordSequenceError (a RecordError) once sequence numbers are used up.
    """

    _ENCRYPT = False

    def open(self, wire: BytesLike, *, threads: int = 1) -> tuple[list[tuple[int, bytes]], int]:
        """``([(content_type, plaintext), ...], bytes consumed)`` for the records at the front."""
        if threads != 1:
            check_threads(threads)
        if type(wire) is bytes:
            with self._lock:
                segments, consumed, records, error = self._key.open_new(wire, len(wire), threads)
        else:
            given = wire
            wire, length = input_buffer(wire)
            try:
                with self._lock:
                    segments, consumed, records, error = self._key.open_new(wire, length,
                                                                            threads)
            finally:
                release_view(wire, given)
        if error is None or (error == "space" and records > 0):
            return segments, consumed
        raise self._error(error, records, segments, consumed)

    def open_into(self, buffer: WritableBuffer, wire: BytesLike, *,
                  threads: int = 1) -> tuple[list[tuple[int, int, int]], int]:
        """``([(content_type, offset, length), ...], bytes consumed)``, plaintext in ``buffer``.

        The plaintexts lie one after another from the start of ``buffer``. Each record needs room
        for its whole inner plaintext (ciphertext length - 16) at its offset; when the next record
        does not fit the call stops there, and ValueError is raised if not even the first fits.
        ``buffer`` and ``wire`` must not overlap. ``threads`` > 1 opens runs of records in
        parallel in the native backend, with the same result.
        """
        check_threads(threads)
        given_out, given_wire = buffer, wire
        out, capacity = output_buffer(buffer)
        wire, length = input_buffer(wire)
        try:
            return self._open(out, capacity, wire, length, threads)
        finally:
            release_view(wire, given_wire)
            release_view(out, given_out)

    def _open(self, out, capacity: int, wire, length: int, threads: int):
        with self._lock:
            segments, consumed, records, error = self._key.open_into(
                out, capacity, wire, length, threads
            )
        if error is None or (error == "space" and records > 0):
            return segments, consumed
        raise self._error(error, records, segments, consumed)

    @staticmethod
    def _error(error: str, index: int, segments, consumed: int) -> Exception:
        if error == "space":
            return ValueError("the output buffer is too small for the first record's plaintext")
        if error == "auth":
            return RecordAuthenticationError(
                "record %d failed authentication" % index, index, segments, consumed
            )
        if error == "overflow":
            return RecordLengthError("record %d is longer than TLS 1.3 allows" % index, index,
                                     segments, consumed)
        if error == "unexpected":
            return RecordContentTypeError("record %d has no content type (all zeros)" % index,
                                          index, segments, consumed)
        return RecordSequenceError("record %d would need a sequence number past 2^64 - 1"
                                   % index, index, segments, consumed)
