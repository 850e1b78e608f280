"""The native record protection: a thin wrapper over the record core of csrc/engine_records.h.

:class:`NativeKey` is one direction's key object (what a Sealer or Opener stands on), with its
sequence number kept in C; :class:`NativeRecordLayer` is the record layer of one connection,
which owns its two key objects, the records waiting to be sent and the bytes received and not
yet read, and protects and opens through the same batch calls.

While C runs, other Python threads run too. Immutable ``bytes`` are passed as they are; every
other buffer is handed over through ``ffi.from_buffer``, which holds a buffer export for as long
as the pointer lives (a bytearray refuses to be resized meanwhile, a memoryview to be released),
and every length C is given is checked against the pinned buffer first (:func:`_pinned`): a
buffer shrunk by another thread after its length was counted is refused with ValueError rather
than overrun. Results are written into new ``bytes`` objects made for the call, which no other
code can see yet.
"""

from __future__ import annotations

import functools
import platform

from .. import _backend
from ..errors import BackendError, RecordError
from ._suites import MAX_INNER_PLAINTEXT, SEQ_LIMIT, Opened, Stop, Suite, check_capacity

_ffi, _lib = _backend.native()  # this module is imported only where the extension loads
# What a stop code of csrc/engine_records.h is called in an Opened result.
_ERRORS = {_lib.ENGINE_RECORDS_AUTH: "auth", _lib.ENGINE_RECORDS_OVERFLOW: "overflow",
           _lib.ENGINE_RECORDS_UNEXPECTED: "unexpected", _lib.ENGINE_RECORDS_SEQ: "seq",
           _lib.ENGINE_RECORDS_SPACE: "space"}
_OK = _lib.ENGINE_RECORDS_OK
_SEQ = _lib.ENGINE_RECORDS_SEQ
_SPACE = _lib.ENGINE_RECORDS_SPACE
_RECORD = _lib.ENGINE_RECORDS_RECORD
_UPDATE = _lib.ENGINE_RECORDS_UPDATE
_EINVAL = _lib.ENGINE_RECORDS_EINVAL
# A new bytes object of two or more bytes is unshared until it is returned, so the records can
# be written straight into it (one allocation, no copy). Only CPython is known to allow this.
_FILL_BYTES_IN_PLACE = platform.python_implementation() == "CPython"
_SEGMENTS_MIN = 64
_TLS13 = _lib.ENGINE_RECORD_TLS13


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


def _pinned_pair(ffi, data, length: int, out, capacity: int):
    """:func:`_pinned` pointers to an input of ``length`` bytes and a writable output of
    ``capacity`` bytes, both held, or neither when one fails."""
    data_ptr = _pinned(ffi, data, length)
    try:
        return data_ptr, _pinned(ffi, out, capacity, writable=True)
    except BaseException:
        ffi.release(data_ptr)
        raise


def _check(rc: int) -> None:
    """Raise what a return code of the record core means (nothing for OK)."""
    if rc == _OK:
        return
    if rc == _SEQ:
        raise RecordError("the sequence number would pass 2^64 - 1; the traffic key must be "
                          "updated first")
    if rc == _SPACE:
        raise ValueError("the output buffer is too small")
    if rc == _EINVAL:
        raise ValueError("invalid arguments for record protection (overlapping buffers?)")
    if rc == _lib.ENGINE_RECORDS_EBUSY:
        raise RecordError("the key is in use by another thread")
    if rc == _lib.ENGINE_RECORDS_ENOMEM:
        raise MemoryError("out of memory in the record layer")
    raise RecordError("record protection failed in libcrypto (code %d)" % rc)


class NativeKey:
    """One direction's key object in the extension: libcrypto context, IV and sequence number."""

    def __init__(self, suite: Suite, key: bytes, iv: bytes, encrypt: bool, seq: int = 0):
        ffi, lib = self._ffi, self._lib = _backend.native()
        spent = seq >= SEQ_LIMIT
        raw = lib.engine_record_key_new(suite.code, _TLS13, key, len(key), iv, len(iv),
                                        1 if encrypt else 0, 0 if spent else seq,
                                        1 if spent else 0)
        if raw == ffi.NULL:
            raise BackendError("libcrypto could not set up %s" % suite.name)
        self._handle = ffi.gc(raw, lib.engine_record_key_free)
        self._written = ffi.new("size_t *")
        self._records = ffi.new("uint64_t *")
        self._consumed = ffi.new("size_t *")
        self._opened = ffi.new("size_t *")
        self._seq = ffi.new("uint64_t *")
        self._segments_cap = _SEGMENTS_MIN
        self._segments = ffi.new("uint64_t[]", 3 * self._segments_cap)

    @property
    def seq(self) -> int:
        """The sequence number of the next record (2^64 once every number is used)."""
        rc = self._lib.engine_record_key_seq(self._handle, self._seq)
        if rc < 0:
            _check(rc)
        return SEQ_LIMIT if rc == 1 else self._seq[0]

    # -- sealing ---------------------------------------------------------------------------

    def seal_into(self, out, capacity, data, length, content_type, max_fragment, pad_to,
                  threads) -> None:
        ffi = self._ffi
        pad_to = min(pad_to, MAX_INNER_PLAINTEXT)  # any larger pads the same; C takes a size_t
        data_ptr, out_ptr = _pinned_pair(ffi, data, length, out, capacity)
        try:
            rc = self._lib.engine_records_seal(
                self._handle, data_ptr, length, content_type, max_fragment, pad_to, out_ptr,
                capacity, threads, self._written, self._records,
            )
        finally:  # a traceback keeping this frame must not keep the caller's buffers pinned
            ffi.release(data_ptr)
            ffi.release(out_ptr)
        _check(rc)

    def seal_new(self, data, length, size, content_type, max_fragment, pad_to,
                 threads) -> bytes:
        if not _FILL_BYTES_IN_PLACE or size < 2:
            gathered = bytearray(size)
            self.seal_into(gathered, size, data, length, content_type, max_fragment, pad_to,
                           threads)
            return bytes(gathered)
        out = bytes(size)
        pinned = data if type(data) is bytes else _pinned(self._ffi, data, length)
        try:
            rc = self._lib.engine_records_seal(
                self._handle, pinned, length, content_type, max_fragment,
                min(pad_to, MAX_INNER_PLAINTEXT), out, size, threads, self._written,
                self._records,
            )
        finally:
            if pinned is not data:
                self._ffi.release(pinned)
        _check(rc)
        return out

    def seal_messages_into(self, out, capacity, messages, content_type, pad_to,
                           threads) -> int:
        """One record per message into ``out``; returns the bytes written."""
        rc, size = self._seal_messages(messages, content_type, pad_to,
                                       _pinned(self._ffi, out, capacity, writable=True),
                                       capacity, threads)
        if rc == _SPACE:
            check_capacity(capacity, size)
        _check(rc)
        return size

    def seal_messages_new(self, messages, content_type, pad_to, threads) -> bytes:
        ffi = self._ffi
        if pad_to == 0:
            size = messages.sealed_size(0)
        else:  # ask the extension what the padded records take
            rc, size = self._seal_messages(messages, content_type, pad_to, ffi.NULL, 0, threads)
            if rc != _SPACE:
                _check(rc)
        out = bytes(size) if _FILL_BYTES_IN_PLACE and size > 1 else bytearray(size)
        rc, _ = self._seal_messages(messages, content_type, pad_to, ffi.from_buffer(out), size,
                                    threads)
        _check(rc)
        return out if type(out) is bytes else bytes(out)

    def _seal_messages(self, messages, content_type, pad_to, out_ptr, capacity,
                       threads) -> tuple[int, int]:
        """(return code, bytes written or needed). Lengths the extension refuses are counted
        again in bytes (ValueError for a message over 2^14) and the call is made once more."""
        ffi = self._ffi
        pad_to = min(pad_to, MAX_INNER_PLAINTEXT)
        for attempt in (1, 2):
            rc = self._lib.engine_records_seal_messages(
                self._handle, ffi.from_buffer(messages.data), len(messages.data),
                ffi.from_buffer("uint64_t[]", messages.lengths), len(messages.lengths),
                content_type, pad_to, out_ptr, capacity, threads, self._written,
            )
            if rc != _EINVAL or attempt == 2:
                break
            messages.exact()
        return rc, self._written[0]

    # -- opening ---------------------------------------------------------------------------

    def open_new(self, wire, length, threads) -> tuple:
        """(``[(content_type, plaintext), ...]``, consumed, records, error) for the records at
        the front of ``wire``: what :meth:`open_into` gives, the plaintexts as bytes.

        Immutable wire bytes are read in place and the plaintexts written into a new bytes
        object, so the common case (every record in one call) is one call into C.
        """
        if _FILL_BYTES_IN_PLACE and type(wire) is bytes and length > 1:
            out = bytes(length)  # no plaintext is longer than its record
            cap = self._segments_cap
            segments = self._segments
            rc = self._lib.engine_records_open(self._handle, wire, length, out, length, threads,
                                               segments, cap, self._opened, self._consumed)
            n = self._opened[0]
            if rc > 0 or (rc == 0 and n < cap):
                if n == 1:
                    offset = segments[1]
                    found = [(segments[0], out[offset:offset + segments[2]])]
                else:
                    flat = memoryview(self._ffi.buffer(segments, 24 * n)).cast("Q").tolist()
                    found = [(flat[i], out[flat[i + 1]:flat[i + 1] + flat[i + 2]])
                             for i in range(0, 3 * n, 3)]
                return found, self._consumed[0], n, None if rc == 0 else _ERRORS[rc]
            if rc < 0:
                _check(rc)
            # every segment slot was used: the general path opens the rest of them
            done = self._consumed[0]
            first = [(segments[3 * i], out[segments[3 * i + 1]:segments[3 * i + 1]
                                           + segments[3 * i + 2]]) for i in range(n)]
            rest, consumed, records, error = self.open_new(memoryview(wire)[done:],
                                                           length - done, threads)
            return first + rest, done + consumed, n + records, error
        into = bytearray(length)
        segments, consumed, records, error = self.open_into(into, length, wire, length, threads)
        with memoryview(into) as view:
            return ([(t, bytes(view[o:o + n])) for t, o, n in segments], consumed, records,
                    error)

    def open_into(self, out, capacity, wire, length, threads) -> Opened:
        """Open the complete application_data records at the front of ``wire`` into ``out``.

        Every record is opened, however many: the segment slots grow as they fill.
        """
        ffi, lib = self._ffi, self._lib
        wire_ptr, out_ptr = _pinned_pair(ffi, wire, length, out, capacity)
        found: list = []
        consumed = opened = base = 0
        try:
            while True:
                cap = self._segments_cap
                segments = self._segments
                rc = lib.engine_records_open(
                    self._handle, wire_ptr + consumed, length - consumed, out_ptr + base,
                    capacity - base, threads, segments, cap, self._opened, self._consumed,
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
            _check(rc)
        if rc == _SPACE and opened:
            rc = _OK  # no room for the next record: an ordinary stop
        return Opened(found, consumed, opened, _ERRORS.get(rc))


class NativeRecordLayer:
    """The record layer of one connection in the extension (csrc/engine_record_layer.c).

    The same calls and results as :class:`~engine.records._python.PythonRecordLayer`; see
    engine.records.RecordLayer. Every call is one call into C.
    """

    __slots__ = ("_ffi", "_handle", "_sizes", "_result", "_write", "_read", "_take",
                 "_write_plaintext", "write_bytes", "stop", "record", "stop_length")

    def __init__(self):
        ffi, lib = _ffi, _lib
        raw = lib.engine_record_layer_new()
        if raw == ffi.NULL:
            raise MemoryError("out of memory in the record layer")
        self._ffi = ffi
        self._handle = ffi.gc(raw, lib.engine_record_layer_free)
        self._sizes = lib.engine_record_layer_sizes_of(raw)
        self._result = ffi.new("engine_record_read *")
        self._write = lib.engine_record_layer_write
        self._write_plaintext = lib.engine_record_layer_write_plaintext
        self._read = lib.engine_record_layer_read
        self._take = lib.engine_record_layer_take
        # write_bytes(content_type, data, len(data)) for immutable bytes: the C call itself,
        # returning its code (0, Stop.UPDATE, or an error for check())
        self.write_bytes = functools.partial(self._write, self._handle)
        self.stop: int = Stop.OK
        self.record: tuple | None = None
        self.stop_length = 0

    @property
    def to_send(self) -> int:
        return self._sizes.to_send

    @property
    def received(self) -> int:
        return self._sizes.received

    @property
    def data_records(self) -> int:
        """Application data records the last read opened (some may have been empty)."""
        return self._result.data_records

    def set_key(self, write: bool, suite: Suite, key: bytes, iv: bytes,
                update_after: int = 0) -> None:
        _check(_lib.engine_record_layer_set_key(self._handle, 1 if write else 0,
                                                suite.code, key, len(key), iv, len(iv),
                                                update_after))

    def set_limits(self, max_fragment: int, pad_to: int) -> None:
        if not 1 <= max_fragment <= 2**14:
            raise ValueError("max_fragment must be between 1 and 2^14")
        _check(_lib.engine_record_layer_set_limits(self._handle, max_fragment,
                                                  min(pad_to, 2**14 + 1)))

    @staticmethod
    def check(rc: int) -> None:
        """Raise what an error code of write_bytes means."""
        _check(rc)

    def write(self, content_type: int, data) -> int:
        if type(data) is bytes:
            rc = self._write(self._handle, content_type, data, len(data))
        else:
            with self._ffi.from_buffer(data) as pinned:
                rc = self._write(self._handle, content_type, pinned, len(pinned))
        if rc and rc != _UPDATE:
            _check(rc)
        return rc

    def write_plaintext(self, content_type: int, data, version: int = 0x0303) -> None:
        if type(data) is bytes:
            _check(self._write_plaintext(self._handle, content_type, data, len(data), version))
            return
        with self._ffi.from_buffer(data) as pinned:
            _check(self._write_plaintext(self._handle, content_type, pinned, len(pinned),
                                         version))

    def data_to_send(self) -> bytes:
        size = self._sizes.to_send
        if not size:
            return b""
        out = bytes(size) if _FILL_BYTES_IN_PLACE and size > 1 else bytearray(size)
        taken = self._take(self._handle, out if type(out) is bytes
                           else self._ffi.from_buffer(out), size)
        if taken < 0:
            _check(taken)
        if taken != size:
            out = out[:taken]
        return out if type(out) is bytes else bytes(out)

    def read(self, data) -> bytes:
        pinned = data if type(data) is bytes else self._ffi.from_buffer(data)
        try:
            size = self._sizes.received + len(pinned)  # room for every plaintext
            out = bytes(size) if size > 1 else bytes(2)  # written in place; never shared
            stop = self._read(self._handle, pinned, len(pinned), out, size, self._result)
        finally:
            if pinned is not data:
                self._ffi.release(pinned)
        self.stop = stop
        length = self._result.data_len
        if stop:
            self._stopped(stop, out)
        if not length:
            return b""
        return out if length == size else out[:length]

    def _stopped(self, stop: int, out: bytes) -> None:
        result = self._result
        if stop == _RECORD:
            if result.record_complete:
                start = result.record_offset
                self.record = (result.record_type, out[start:start + result.record_length],
                               bool(result.record_protected), True)
            else:
                self.record = (result.record_type, None, False, False)
                self.stop_length = result.record_length
            return
        self.record = None
        self.stop_length = result.stop_length
        if stop < 0:
            _check(stop)

    def seq(self, write: bool) -> int | None:
        """The sequence number of the next record written or read; None before a key is set."""
        out = _ffi.new("uint64_t *")
        rc = _lib.engine_record_layer_seq(self._handle, 1 if write else 0, out)
        if rc == _EINVAL:
            return None
        _check(rc if rc < 0 else 0)
        return SEQ_LIMIT if rc == 1 else out[0]

    def skip_record(self) -> None:
        rc = _lib.engine_record_layer_skip_record(self._handle)
        if rc == _EINVAL:
            raise RecordError("no complete record to skip")
        _check(rc)
