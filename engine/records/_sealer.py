"""Sealer: application data in, complete TLS 1.3 records out (RFC 8446 section 5.2)."""

from __future__ import annotations

import threading

from ._select import choose, make_key
from ._suites import (
    APPLICATION_DATA,
    MAX_FRAGMENT,
    check_key,
    check_seal_options,
    check_seq,
    check_seq_room,
    input_buffer,
    joined_messages,
    messages_layout,
    output_buffer,
    release_view,
    sealed_layout,
    suite_named,
)


class Sealer:
    """Protects the records one side sends, with one traffic key and static IV.

    ``seq`` is the sequence number of the next record (RFC 8446 section 5.3); it advances by one
    per record and sealing stops with RecordError before it would pass 2^64 - 1. ``backend`` is
    ``"native"``, ``"python"`` or None (ENGINE_BACKEND). Both backends write identical bytes.
    A Sealer may be shared between threads; calls on it run one at a time. Bad arguments raise
    TypeError or ValueError.
    """

    def __init__(self, suite: str, key, iv, *, seq: int = 0, backend: str | None = None):
        self._suite = suite_named(suite)
        key, iv = check_key(self._suite, key, iv)
        self._seq = check_seq(seq)
        self.backend = choose(backend)
        self._key = make_key(self.backend, self._suite, key, iv, encrypt=True)
        self._lock = threading.Lock()

    @property
    def suite(self) -> str:
        return self._suite.name

    @property
    def seq(self) -> int:
        """The sequence number the next record will use."""
        return self._seq

    def __repr__(self) -> str:
        return "Sealer(%s, seq=%d, backend=%s)" % (self._suite.name, self._seq, self.backend)

    def seal(self, data, *, content_type: int = APPLICATION_DATA, max_fragment: int = MAX_FRAGMENT,
             pad_to: int = 0, threads: int = 1) -> bytes:
        """The records carrying ``data``, cut into fragments of at most ``max_fragment`` bytes.

        Each record's inner plaintext is the fragment, ``content_type`` and, with ``pad_to`` > 0,
        zeros up to a multiple of ``pad_to`` (at most 2^14 + 1 bytes in all, section 5.4).
        ``threads`` > 1 seals runs of records in parallel in the native backend; the bytes are the
        same. Empty ``data`` gives b"".
        """
        check_seal_options(content_type, max_fragment, pad_to, threads)
        given = data
        data, length = input_buffer(data)
        try:
            records, size = sealed_layout(length, max_fragment, pad_to)
            if records == 0:
                return b""
            with self._lock:
                check_seq_room(self._seq, records)
                out = self._key.seal_new(data, length, size, content_type, max_fragment, pad_to,
                                         self._seq, threads)
                self._seq += records
            return out
        finally:
            release_view(data, given)

    def seal_into(self, buffer, data, *, content_type: int = APPLICATION_DATA,
                  max_fragment: int = MAX_FRAGMENT, pad_to: int = 0, threads: int = 1) -> int:
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
            if size > capacity:
                raise ValueError(
                    "the output buffer holds %d bytes; the records need %d" % (capacity, size)
                )
            if records == 0:
                return 0
            with self._lock:
                check_seq_room(self._seq, records)
                self._key.seal_into(out, capacity, data, length, content_type, max_fragment,
                                    pad_to, self._seq, threads)
                self._seq += records
            return size
        finally:
            release_view(data, given_data)
            release_view(out, given_out)

    def seal_messages(self, messages, *, content_type: int = APPLICATION_DATA, pad_to: int = 0,
                      threads: int = 1) -> bytes:
        """One record per message (each at most 2^14 bytes), all in one call.

        ``threads`` > 1 spreads the messages over threads in the native backend (same bytes).
        """
        check_seal_options(content_type, 1, pad_to, threads)
        data, lengths = joined_messages(messages)
        if not lengths:
            return b""
        size = messages_layout(lengths, pad_to, len(data))  # also refuses one over 2^14
        with self._lock:
            check_seq_room(self._seq, len(lengths))
            out = self._key.seal_messages_new(data, lengths, size, content_type, pad_to,
                                              self._seq, threads)
            self._seq += len(lengths)
        return out
