"""The native record protection: a thin wrapper over csrc/engine_records.c.

Buffers go to C as pointers (cffi releases the GIL around each call); this module only checks
what the C side reports and turns it into the shapes the Python twin returns. One NativeKey
serves one direction and is used under its Sealer's or Opener's lock.

While C runs, other Python threads run too. Every buffer is therefore handed over through
``ffi.from_buffer``, which holds a buffer export for as long as the pointer lives (a bytearray
refuses to be resized meanwhile, a memoryview to be released), and every length C is given is
checked against the pinned buffer first (:func:`_pinned`): a buffer shrunk by another thread
after its length was counted is refused with ValueError rather than overrun.
"""

from __future__ import annotations

import platform

from .. import _backend
from ..errors import BackendError, RecordError
from ._outcome import Opened
from ._suites import (
    APPLICATION_DATA,
    HEADER_SIZE,
    MAX_CIPHERTEXT,
    MAX_INNER_PLAINTEXT,
    SEQ_LIMIT,
    TAG_SIZE,
    Suite,
    check_capacity,
)

_ERRORS = {1: "auth", 2: "overflow", 3: "unexpected", 4: "seq", 5: "space"}
# A new bytes object of two or more bytes is unshared until it is returned, so the records can
# be written straight into it (one allocation, no copy). Only CPython is known to allow this.
_FILL_BYTES_IN_PLACE = platform.python_implementation() == "CPython"
_SEGMENTS_MIN = 64


def _pinned(ffi, obj, size: int, writable: bool = False):
    """A pointer to ``obj``'s bytes that holds its buffer export until released, checked to
    hold ``size`` bytes.

    The export is what keeps the memory in place while C runs without the GIL: a bytearray
    (or the object under a memoryview) cannot be resized while it is held. ``size`` was
    counted before the export was taken, so another thread may have shrunk the buffer since;
    C is never handed more bytes than the buffer has now.
    """
    ptr = ffi.from_buffer(obj, require_writable=writable)
    if size < 0 or size > len(ptr):
        ffi.release(ptr)
        raise ValueError("the buffer changed size during the call (now %d bytes, %d expected)"
                         % (len(ptr), size))
    return ptr


class NativeKey:
    """One direction's key in a libcrypto context held by the extension."""

    def __init__(self, suite: Suite, key: bytes, iv: bytes, encrypt: bool):
        ffi, lib = self._ffi, self._lib = _backend.native()
        raw = lib.engine_record_key_new(suite.native_id, key, len(key), iv, len(iv),
                                        1 if encrypt else 0)
        if raw == ffi.NULL:
            raise BackendError("libcrypto could not set up %s" % suite.name)
        self._handle = ffi.gc(raw, lib.engine_record_key_free)
        self._written = ffi.new("size_t *")
        self._records = ffi.new("uint64_t *")
        self._consumed = ffi.new("size_t *")
        self._opened = ffi.new("size_t *")
        self._bound = ffi.new("size_t *")
        self._segments_cap = _SEGMENTS_MIN
        self._segments = ffi.new("uint64_t[]", 3 * self._segments_cap)

    @staticmethod
    def _check(rc: int) -> None:
        if rc == 0:
            return
        if rc == 4:
            raise RecordError("the sequence number would pass 2^64 - 1")
        if rc == 5:
            raise ValueError("the output buffer is too small")
        if rc == -1:
            raise ValueError("invalid arguments for record protection (overlapping buffers?)")
        if rc == -4:
            raise RecordError("the key is in use by another thread")
        if rc == -2:
            raise MemoryError("out of memory in the record layer")
        raise RecordError("record protection failed in libcrypto (code %d)" % rc)

    # -- sealing ---------------------------------------------------------------------------

    def seal_into(self, out, capacity, data, length, content_type, max_fragment, pad_to, seq,
                  threads) -> None:
        ffi = self._ffi
        pad_to = min(pad_to, MAX_INNER_PLAINTEXT)  # any larger pads the same; C takes a size_t
        data_ptr = _pinned(ffi, data, length)
        try:
            out_ptr = _pinned(ffi, out, capacity, writable=True)
        except BaseException:
            ffi.release(data_ptr)
            raise
        try:
            rc = self._lib.engine_records_seal(
                self._handle, data_ptr, length, content_type, max_fragment, pad_to, seq,
                out_ptr, capacity, threads, self._written, self._records,
            )
        finally:  # a traceback keeping this frame must not keep the caller's buffers pinned
            ffi.release(data_ptr)
            ffi.release(out_ptr)
        self._check(rc)

    def seal_new(self, data, length, size, content_type, max_fragment, pad_to, seq,
                 threads) -> bytes:
        if not _FILL_BYTES_IN_PLACE:
            out = bytearray(size)
            self.seal_into(out, size, data, length, content_type, max_fragment, pad_to, seq,
                           threads)
            return bytes(out)
        out = bytes(size)
        ffi = self._ffi
        pad_to = min(pad_to, MAX_INNER_PLAINTEXT)
        self._check(self._lib.engine_records_seal(
            self._handle, _pinned(ffi, data, length), length, content_type, max_fragment,
            pad_to, seq, ffi.from_buffer(out), size, threads, self._written, self._records,
        ))
        return out

    def seal_messages_into(self, out, capacity, messages, content_type, pad_to, seq,
                           threads) -> int:
        """One record per message into ``out``; returns the bytes written."""
        rc, size = self._seal_messages(messages, content_type, pad_to, seq,
                                       _pinned(self._ffi, out, capacity, writable=True),
                                       capacity, threads)
        if rc == 5:
            check_capacity(capacity, size)
        self._check(rc)
        return size

    def seal_messages_new(self, messages, content_type, pad_to, seq, threads) -> bytes:
        ffi = self._ffi
        if pad_to == 0:
            size = messages.sealed_size(0)
        else:  # ask the extension what the padded records take
            rc, size = self._seal_messages(messages, content_type, pad_to, seq, ffi.NULL, 0,
                                           threads)
            if rc != 5:
                self._check(rc)
        out = bytes(size) if _FILL_BYTES_IN_PLACE else bytearray(size)
        rc, _ = self._seal_messages(messages, content_type, pad_to, seq, ffi.from_buffer(out),
                                    size, threads)
        self._check(rc)
        return out if _FILL_BYTES_IN_PLACE else bytes(out)

    def _seal_messages(self, messages, content_type, pad_to, seq, out_ptr, capacity,
                       threads) -> tuple[int, int]:
        """(return code, bytes written or needed). Lengths the extension refuses are counted
        again in bytes (ValueError for a message over 2^14) and the call is made once more."""
        ffi = self._ffi
        pad_to = min(pad_to, MAX_INNER_PLAINTEXT)
        for attempt in (1, 2):
            rc = self._lib.engine_records_seal_messages(
                self._handle, ffi.from_buffer(messages.data), len(messages.data),
                ffi.from_buffer("uint64_t[]", messages.lengths), len(messages.lengths),
                content_type, pad_to, seq, out_ptr, capacity, threads, self._written,
            )
            if rc != -1 or attempt == 2:
                break
            messages.exact()
        return rc, self._written[0]

    # -- opening ---------------------------------------------------------------------------

    def plaintext_bound(self, wire, length) -> int:
        """An output size enough for every complete record at the front of ``wire``."""
        wire_ptr = _pinned(self._ffi, wire, length)
        self._lib.engine_records_count(wire_ptr, length, self._bound)
        self._ffi.release(wire_ptr)
        return self._bound[0]

    def open_into(self, out, capacity, wire, length, seq, threads) -> Opened:
        ffi, lib = self._ffi, self._lib
        wire_ptr = _pinned(ffi, wire, length)
        if seq >= SEQ_LIMIT:  # used up: any complete record is one too many
            stop = self._past_last_seq(wire_ptr, length)
            ffi.release(wire_ptr)
            return Opened([], 0, 0, stop)
        try:
            out_ptr = _pinned(ffi, out, capacity, writable=True)
        except BaseException:
            ffi.release(wire_ptr)
            raise
        found: list = []
        consumed = opened = base = 0
        try:
            while True:
                cap = self._segments_cap
                segments = self._segments
                rc = lib.engine_records_open(
                    self._handle, wire_ptr + consumed, length - consumed, seq + opened,
                    out_ptr + base, capacity - base, threads, segments, cap,
                    self._opened, self._consumed,
                )
                if rc < 0:
                    break
                n = self._opened[0]
                consumed += self._consumed[0]
                opened += n
                if n == 1:
                    found.append((segments[0], base + segments[1], segments[2]))
                elif n:
                    flat = memoryview(ffi.buffer(segments, 24 * n)).cast("Q").tolist()
                    if base:
                        flat[1::3] = [base + offset for offset in flat[1::3]]
                    it = iter(flat)
                    found += zip(it, it, it)
                if rc != 0 or n < cap or found[-1][0] != 23 or consumed == length:
                    break
                if seq + opened >= SEQ_LIMIT:  # the last number is used: what stops us here
                    stop = self._past_last_seq(wire_ptr + consumed, length - consumed)
                    rc = 0 if stop is None else next(k for k, v in _ERRORS.items() if v == stop)
                    break
                # every segment slot was used and records may remain: grow and go on
                last_type, last_offset, last_length = found[-1]
                base = last_offset + last_length
                self._segments_cap = 4 * cap
                self._segments = ffi.new("uint64_t[]", 3 * self._segments_cap)
        finally:
            # let go of the buffers now, so a caller may release its views even if we raise
            ffi.release(wire_ptr)
            ffi.release(out_ptr)
        if rc < 0:
            self._check(rc)
        if rc == 5 and opened:
            rc = 0  # no room for the next record: an ordinary stop
        return Opened(found, consumed, opened, _ERRORS.get(rc))

    def _past_last_seq(self, wire_ptr, length) -> str | None:
        """Why opening stops at ``wire_ptr`` once every sequence number is used, as the
        twin says it: "overflow" for a header longer than TLS 1.3 allows, "seq" for a
        complete application_data record, None otherwise (section 5.2, 5.3)."""
        if length < HEADER_SIZE:
            return None
        header = self._ffi.buffer(wire_ptr, HEADER_SIZE)[:]
        if header[0] != APPLICATION_DATA:
            return None
        size = (header[3] << 8) | header[4]
        if size > MAX_CIPHERTEXT or size - TAG_SIZE > MAX_INNER_PLAINTEXT:
            return "overflow"
        return "seq" if length - HEADER_SIZE >= size else None

    # -- the framing-free limit, for measuring ----------------------------------------------

    def oneshot_into(self, out, data) -> int:
        """One AEAD call over all of ``data`` (no records): the speed limit of this libcrypto.

        Sealing writes ciphertext and tag; opening takes them and writes the plaintext.
        """
        ffi = self._ffi
        with ffi.from_buffer(data) as data_ptr, \
                ffi.from_buffer(out, require_writable=True) as out_ptr:
            rc = self._lib.engine_aead_oneshot(
                self._handle, data_ptr, len(data_ptr), out_ptr, len(out_ptr), self._written,
            )
        if rc == 1:
            raise RecordError("the one-shot ciphertext failed authentication")
        self._check(rc)
        return self._written[0]
