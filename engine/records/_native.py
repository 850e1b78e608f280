"""The native record protection: a thin wrapper over csrc/engine_records.c.

Buffers go to C as pointers (cffi releases the GIL around each call); this module only checks
what the C side reports and turns it into the shapes the Python twin returns.
"""

from __future__ import annotations

import array
import platform

from .. import _backend
from ..errors import BackendError, RecordError
from ._outcome import Opened
from ._suites import SEQ_LIMIT, Suite

_ERRORS = {1: "auth", 2: "overflow", 3: "unexpected", 4: "seq", 5: "space"}
# A new bytes object of two or more bytes is unshared until it is returned, so the records can
# be written straight into it (one allocation, no copy). Only CPython is known to allow this.
_FILL_BYTES_IN_PLACE = platform.python_implementation() == "CPython"


def _room(seq: int) -> int:
    return min(SEQ_LIMIT - seq, SEQ_LIMIT - 1)


class NativeKey:
    """One direction's key in a libcrypto context held by the extension."""

    def __init__(self, suite: Suite, key: bytes, iv: bytes, encrypt: bool | None = None):
        self._ffi, self._lib = _backend.native()
        self._suite = suite
        self._key = key
        self._iv = iv
        self._handles = {}
        self._segments_cap = 16
        self._segments = self._ffi.new("uint64_t[]", 3 * self._segments_cap)

    def _handle(self, encrypt: bool):
        """The C key object for sealing or opening, made on first use."""
        handle = self._handles.get(encrypt)
        if handle is None:
            raw = self._lib.engine_record_key_new(
                self._suite.native_id, self._key, len(self._key), self._iv, len(self._iv),
                1 if encrypt else 0,
            )
            if raw == self._ffi.NULL:
                raise BackendError("libcrypto could not set up %s" % self._suite.name)
            handle = self._handles[encrypt] = self._ffi.gc(raw, self._lib.engine_record_key_free)
        return handle

    def _check(self, rc: int) -> None:
        if rc == 0:
            return
        if rc == 4:
            raise RecordError("the sequence number would pass 2^64 - 1")
        if rc == 5:
            raise ValueError("the output buffer is too small")
        if rc == -4:
            raise RecordError("the key is in use by another thread")
        if rc == -2:
            raise MemoryError("out of memory in the record layer")
        raise RecordError("record protection failed in libcrypto (code %d)" % rc)

    # -- sealing ---------------------------------------------------------------------------

    def seal_into(self, out, data, content_type, max_fragment, pad_to, seq, threads) -> None:
        ffi = self._ffi
        written = ffi.new("size_t *")
        records = ffi.new("uint64_t *")
        rc = self._lib.engine_records_seal(
            self._handle(True), ffi.from_buffer(data), len(data), content_type, max_fragment,
            pad_to, seq, _room(seq), ffi.from_buffer(out, require_writable=True), len(out),
            threads, written, records,
        )
        self._check(rc)

    def seal_new(self, data, size, content_type, max_fragment, pad_to, seq, threads) -> bytes:
        if not _FILL_BYTES_IN_PLACE:
            out = bytearray(size)
            self.seal_into(memoryview(out), data, content_type, max_fragment, pad_to, seq, threads)
            return bytes(out)
        out = bytes(size)
        ffi = self._ffi
        written = ffi.new("size_t *")
        records = ffi.new("uint64_t *")
        rc = self._lib.engine_records_seal(
            self._handle(True), ffi.from_buffer(data), len(data), content_type, max_fragment,
            pad_to, seq, _room(seq), ffi.from_buffer(out), size, threads, written, records,
        )
        self._check(rc)
        return out

    def seal_messages_new(self, data, lengths, size, content_type, pad_to, seq) -> bytes:
        ffi = self._ffi
        out = bytes(size) if _FILL_BYTES_IN_PLACE else bytearray(size)
        lens = array.array("Q", lengths)
        written = ffi.new("size_t *")
        rc = self._lib.engine_records_seal_messages(
            self._handle(True), ffi.from_buffer(data), len(data),
            ffi.cast("uint64_t *", ffi.from_buffer(lens)), len(lens), content_type, pad_to,
            seq, _room(seq), ffi.from_buffer(out), size, written,
        )
        self._check(rc)
        return out if _FILL_BYTES_IN_PLACE else bytes(out)

    # -- opening ---------------------------------------------------------------------------

    def open_into(self, out, wire, seq, threads) -> Opened:
        ffi, lib = self._ffi, self._lib
        wire_ptr = ffi.from_buffer(wire)
        count = lib.engine_records_count(wire_ptr, len(wire))
        if count > self._segments_cap:
            self._segments_cap = max(count, 2 * self._segments_cap, 16)
            self._segments = ffi.new("uint64_t[]", 3 * self._segments_cap)
        records = ffi.new("size_t *")
        consumed = ffi.new("size_t *")
        room = _room(seq) if seq < SEQ_LIMIT else 0
        rc = lib.engine_records_open(
            self._handle(False), wire_ptr, len(wire), seq % SEQ_LIMIT, room,
            ffi.from_buffer(out, require_writable=True), len(out), threads,
            self._segments, count, records, consumed,
        )
        if rc < 0:
            self._check(rc)
        n = records[0]
        if n:
            flat = memoryview(ffi.buffer(self._segments, 24 * n)).cast("Q").tolist()
            segments = list(zip(flat[0::3], flat[1::3], flat[2::3]))
        else:
            segments = []
        return Opened(segments, consumed[0], n, _ERRORS.get(rc))

    # -- the framing-free limit, for benchmarks ----------------------------------------------

    def oneshot_into(self, out, data, encrypt: bool) -> int:
        """One AEAD call over all of ``data`` (no records): the speed limit of this libcrypto."""
        ffi = self._ffi
        written = ffi.new("size_t *")
        rc = self._lib.engine_aead_oneshot(
            self._handle(encrypt), ffi.from_buffer(data), len(data),
            ffi.from_buffer(out, require_writable=True), len(out), written,
        )
        if rc == 1:
            raise RecordError("the one-shot ciphertext failed authentication")
        self._check(rc)
        return written[0]
