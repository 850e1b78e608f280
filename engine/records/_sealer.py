"""Sealer: application data in, complete TLS 1.3 records out (RFC 8446 section 5.2)."""

from __future__ import annotations

import io
from typing import Iterable

from .._buffers import BytesLike, WritableBuffer
from ._direction import Direction
from ._messages import KEEP_BYTES, Messages
from ._suites import (
    APPLICATION_DATA,
    MAX_FRAGMENT,
    RECORD_OVERHEAD,
    check_capacity,
    check_seal_options,
    input_buffer,
    output_buffer,
    release_view,
    sealed_layout,
)


class Sealer(Direction):
    """Protects the records one side sends, with one traffic key and static IV.

    ``seq`` is the sequence number of the next record (RFC 8446 section 5.3); it advances by one
    per record and sealing stops with RecordError before it would pass 2^64 - 1. ``backend`` is
    ``"native"``, ``"python"`` or None (ENGINE_BACKEND). Both backends write identical bytes.
    A Sealer may be shared between threads; calls on it run one at a time. Bad arguments raise
    TypeError or ValueError.
    """

    _ENCRYPT = True
    _gather: io.BytesIO | None = None  # where seal_messages gathers its messages

    def seal(self, data: BytesLike, *, content_type: int = APPLICATION_DATA,
             max_fragment: int = MAX_FRAGMENT, pad_to: int = 0, threads: int = 1) -> bytes:
        """The records carrying ``data``, cut into fragments of at most ``max_fragment`` bytes.

        Each record's inner plaintext is the fragment, ``content_type`` and, with ``pad_to`` > 0,
        zeros up to a multiple of ``pad_to`` (at most 2^14 + 1 bytes in all, section 5.4).
        ``threads`` > 1 seals runs of records in parallel in the native backend; the bytes are the
        same. Empty ``data`` gives b"".
        """
        if (type(data) is bytes and max_fragment == MAX_FRAGMENT and pad_to == 0
                and threads == 1 and type(content_type) is int and 0 < content_type < 256):
            length = len(data)  # the usual call: no option to check, sizes worked out here
            if not length:
                return b""
            size = length + RECORD_OVERHEAD * ((length + MAX_FRAGMENT - 1) // MAX_FRAGMENT)
            with self._lock:
                return self._key.seal_new(data, length, size, content_type, MAX_FRAGMENT, 0, 1)
        check_seal_options(content_type, max_fragment, pad_to, threads)
        given = data
        data, length = input_buffer(data)
        try:
            records, size = sealed_layout(length, max_fragment, pad_to)
            if records == 0:
                return b""
            with self._lock:
                return self._key.seal_new(data, length, size, content_type, max_fragment,
                                          pad_to, threads)
        finally:
            release_view(data, given)

    def seal_into(self, buffer: WritableBuffer, data: BytesLike, *,
                  content_type: int = APPLICATION_DATA, max_fragment: int = MAX_FRAGMENT,
                  pad_to: int = 0, threads: int = 1) -> int:
        """Like :meth:`seal`, writing into ``buffer`` from its start; returns the bytes written.

        A buffer too small raises ValueError before anything is written. ``buffer`` and ``data``
        must not overlap.
        """
        check_seal_options(content_type, max_fragment, pad_to, threads)
        given_out, given_data = buffer, data
        out, capacity = output_buffer(buffer)
        data, length = input_buffer(data)
        try:
            records, size = sealed_layout(length, max_fragment, pad_to)
            check_capacity(capacity, size)
            if records == 0:
                return 0
            with self._lock:
                self._key.seal_into(out, capacity, data, length, content_type, max_fragment,
                                    pad_to, threads)
            return size
        finally:
            release_view(data, given_data)
            release_view(out, given_out)

    def seal_messages(self, messages: Iterable[BytesLike], *,
                      content_type: int = APPLICATION_DATA, pad_to: int = 0,
                      threads: int = 1) -> bytes:
        """One record per message (each at most 2^14 bytes), all in one call.

        ``threads`` > 1 spreads the messages over threads in the native backend (same bytes).
        The messages are copied into one buffer that the Sealer keeps for the next call (unless
        it grew past 4 MiB), so their pages are not mapped afresh each time.
        """
        check_seal_options(content_type, 1, pad_to, threads)
        with self._lock, self._gathered(messages) as batch:
            if not batch:
                return b""
            return self._key.seal_messages_new(batch, content_type, pad_to, threads)

    def seal_messages_into(self, buffer: WritableBuffer, messages: Iterable[BytesLike], *,
                           content_type: int = APPLICATION_DATA, pad_to: int = 0,
                           threads: int = 1) -> int:
        """Like :meth:`seal_messages`, writing into ``buffer`` from its start; returns the bytes
        written.

        A buffer kept and reused across calls spares the allocation (and the fresh pages) of a
        new result each time. A buffer too small raises ValueError before anything is written.
        """
        check_seal_options(content_type, 1, pad_to, threads)
        given = buffer
        out, capacity = output_buffer(buffer)
        try:
            with self._lock, self._gathered(messages) as batch:
                if not batch:
                    return 0
                return self._key.seal_messages_into(out, capacity, batch, content_type, pad_to,
                                                    threads)
        finally:
            release_view(out, given)

    def _gathered(self, messages) -> Messages:
        """The messages gathered into this Sealer's buffer (called under its lock)."""
        buffer = self._gather
        if buffer is None or buffer.tell() > KEEP_BYTES:  # do not hold on to a big batch
            buffer = self._gather = io.BytesIO()
        try:
            return Messages(messages, buffer)
        except BufferError:  # a view of it outlived its call (kept by a traceback): start afresh
            self._gather = io.BytesIO()
            return Messages(messages, self._gather)
