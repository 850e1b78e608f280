"""The pure-Python record protection: cryptography's AEADs applied record by record.

It writes exactly the bytes the native code writes and follows the same stopping rules, so either
backend can be used for either direction. RFC 8446 section 5.2 gives the record layout, 5.3 the
nonce and 5.4 the inner plaintext with its content type and padding.

:class:`PythonKey` is one direction's key with its sequence number (what a Sealer or Opener
stands on); :class:`PythonRecordLayer` is the record layer of one connection, the twin of the
extension's ``engine_record_layer``: the two keys, the records waiting to be sent and the bytes
received and not yet read.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidTag

from ..errors import RecordError
from ._suites import (
    APPLICATION_DATA,
    HEADER_SIZE,
    MAX_CIPHERTEXT,
    MAX_FRAGMENT,
    MAX_INNER_PLAINTEXT,
    SEQ_LIMIT,
    TAG_SIZE,
    Opened,
    Stop,
    Suite,
    check_capacity,
    check_seq_room,
    inner_size,
    nonce,
    plaintext_records,
    sealed_layout,
)


def _header(length: int) -> bytes:
    return bytes((APPLICATION_DATA, 3, 3, length >> 8, length & 0xFF))


class PythonKey:
    """One direction's traffic key, static IV and sequence number, protecting records with
    cryptography. ``seq`` is the sequence number of the next record (2^64: all are used)."""

    def __init__(self, suite: Suite, key: bytes, iv: bytes, encrypt: bool = True, seq: int = 0):
        self._aead = suite.aead(key)
        self._iv = int.from_bytes(iv, "big")
        self.seq = seq

    def _seal_one(self, out: memoryview, pos: int, content, tail: bytes, seq: int) -> int:
        inner_len = len(content) + len(tail)
        header = _header(inner_len + TAG_SIZE)
        end = pos + HEADER_SIZE + inner_len + TAG_SIZE
        out[pos : pos + HEADER_SIZE] = header
        self._aead.encrypt_into(
            nonce(self._iv, seq), bytes(content) + tail, header, out[pos + HEADER_SIZE : end]
        )
        return end

    def seal_into(self, out, capacity: int, data, length: int, content_type: int,
                  max_fragment: int, pad_to: int, threads: int) -> None:
        """Write the records of ``data``; the caller has checked the sizes."""
        records, _ = sealed_layout(length, max_fragment, pad_to)
        check_seq_room(self.seq, records)
        out, data = memoryview(out).cast("B"), memoryview(data).cast("B")
        pos = 0
        seq = self.seq
        tails: dict[int, bytes] = {}
        for start in range(0, len(data), max_fragment):
            content = data[start : start + max_fragment]
            n = len(content)
            tail = tails.get(n)
            if tail is None:
                tail = tails[n] = bytes((content_type,)) + bytes(inner_size(n, pad_to) - n - 1)
            pos = self._seal_one(out, pos, content, tail, seq)
            seq += 1
        self.seq = seq

    def seal_new(self, data, length: int, size: int, content_type: int, max_fragment: int,
                 pad_to: int, threads: int) -> bytes:
        out = bytearray(size)
        self.seal_into(out, size, data, length, content_type, max_fragment, pad_to, threads)
        return bytes(out)

    def seal_messages_new(self, messages, content_type: int, pad_to: int, threads: int) -> bytes:
        out = bytearray(messages.exact().sealed_size(pad_to))
        self.seal_messages_into(out, len(out), messages, content_type, pad_to, threads)
        return bytes(out)

    def seal_messages_into(self, out, capacity: int, messages, content_type: int, pad_to: int,
                           threads: int) -> int:
        """One record per message (a :class:`Messages`) into ``out``; returns the bytes written."""
        size = messages.exact().sealed_size(pad_to)
        check_capacity(capacity, size)
        check_seq_room(self.seq, len(messages))
        pos = start = 0
        seq = self.seq
        with memoryview(out) as whole, whole.cast("B") as view, \
                memoryview(messages.data) as data:
            for n in messages.lengths:
                tail = bytes((content_type,)) + bytes(inner_size(n, pad_to) - n - 1)
                pos = self._seal_one(view, pos, data[start : start + n], tail, seq)
                start += n
                seq += 1
        self.seq = seq
        return size

    def open_new(self, wire, length: int, threads: int) -> tuple:
        """(``[(content_type, plaintext), ...]``, consumed, records, error)."""
        out = bytearray(length)
        segments, consumed, records, error = self.open_into(out, length, wire, length, threads)
        with memoryview(out) as view:
            return ([(t, bytes(view[o:o + n])) for t, o, n in segments], consumed, records,
                    error)

    def open_into(self, out, capacity: int, wire, length: int, threads: int) -> Opened:
        """Open the complete application_data records at the front of ``wire`` into ``out``."""
        out, wire = memoryview(out).cast("B"), memoryview(wire).cast("B")
        segments = []
        pos = off = 0
        end = length
        seq = self.seq
        index = 0
        error = None
        while end - pos >= HEADER_SIZE:
            if wire[pos] != APPLICATION_DATA:
                break
            length = (wire[pos + 3] << 8) | wire[pos + 4]
            if length > MAX_CIPHERTEXT or length - TAG_SIZE > MAX_INNER_PLAINTEXT:
                error = "overflow"
                break
            if end - pos - HEADER_SIZE < length:
                break
            if seq + index >= SEQ_LIMIT:
                error = "seq"
                break
            plain_len = max(length - TAG_SIZE, 0)
            if off + plain_len > len(out):
                error = "space"
                break
            if length < TAG_SIZE:
                error = "auth"
                break
            record_end = pos + HEADER_SIZE + length
            target = out[off : off + plain_len]
            try:
                self._aead.decrypt_into(
                    nonce(self._iv, seq + index),
                    wire[pos + HEADER_SIZE : record_end],
                    bytes(wire[pos : pos + HEADER_SIZE]),
                    target,
                )
            except InvalidTag:
                target[:] = bytes(plain_len)
                error = "auth"
                break
            content_len = len(bytes(target).rstrip(b"\0")) - 1
            if content_len < 0:
                error = "unexpected"
                break
            content_type = target[content_len]
            segments.append((content_type, off, content_len))
            off += content_len
            pos = record_end
            index += 1
            if content_type != APPLICATION_DATA:
                break
        self.seq = seq + index
        return Opened(segments, pos, index, error)


_ERROR_STOPS = {"auth": Stop.AUTH, "overflow": Stop.OVERFLOW, "unexpected": Stop.UNEXPECTED,
                "seq": Stop.SEQ, "space": Stop.SPACE}


class PythonRecordLayer:
    """The record layer of one connection (RFC 8446 section 5), in Python.

    The same calls and results as the native layer (see engine.records.RecordLayer).
    """

    def __init__(self):
        self._write_key: PythonKey | None = None
        self._read_key: PythonKey | None = None
        self._update_after = 0
        self._max_fragment = MAX_FRAGMENT
        self._pad_to = 0
        self._out: list[bytes] = []
        self._in = bytearray()
        self._in_start = 0
        self.stop: int = Stop.OK
        self.data_records = 0
        self.record: tuple | None = None
        self.stop_length = 0

    @property
    def to_send(self) -> int:
        return sum(map(len, self._out))

    @property
    def received(self) -> int:
        return len(self._in) - self._in_start

    def set_key(self, write: bool, suite: Suite, key: bytes, iv: bytes,
                update_after: int = 0) -> None:
        new = PythonKey(suite, key, iv, write)
        if write:
            self._write_key = new
            self._update_after = update_after
        else:
            self._read_key = new

    def set_limits(self, max_fragment: int, pad_to: int) -> None:
        if not 1 <= max_fragment <= MAX_FRAGMENT:
            raise ValueError("max_fragment must be between 1 and 2^14")
        self._max_fragment = max_fragment
        self._pad_to = min(pad_to, MAX_INNER_PLAINTEXT)

    def write(self, content_type: int, data) -> int:
        """Queue the records carrying ``data``: protected, or plaintext before a write key.

        Returns 0, or Stop.UPDATE once the write key nears its usage limit (section 5.5).
        """
        if not data:
            return Stop.OK
        key = self._write_key
        if key is None:
            self._out.append(plaintext_records(content_type, data))
            return Stop.OK
        length = len(memoryview(data).cast("B")) if not isinstance(data, bytes) else len(data)
        records, size = sealed_layout(length, self._max_fragment, self._pad_to)
        self._out.append(key.seal_new(data, length, size, content_type, self._max_fragment,
                                      self._pad_to, 1))
        if self._update_after and key.seq >= self._update_after:
            return Stop.UPDATE
        return Stop.OK

    def write_bytes(self, content_type: int, data: bytes, length: int) -> int:
        """:meth:`write` for immutable bytes of ``length`` bytes (the native layer's C call)."""
        return self.write(content_type, data)

    @staticmethod
    def check(rc: int) -> None:
        """Raise what an error code of write_bytes means (the twin raises as it goes)."""
        if rc:
            raise RecordError("record protection failed (code %d)" % rc)

    def write_plaintext(self, content_type: int, data, version: int = 0x0303) -> None:
        """Queue TLSPlaintext records whatever the keys (section 5.1)."""
        self._out.append(plaintext_records(content_type, data, version))

    def data_to_send(self) -> bytes:
        out = self._out
        if not out:
            return b""
        data = out[0] if len(out) == 1 else b"".join(out)
        out.clear()
        return data

    def read(self, data) -> bytes:
        """Add received bytes and read the records now complete; returns the application data.

        ``stop`` says why the read ended (see the native layer), ``record`` holds a record handed
        over as ``(content_type, payload, protected, complete)`` (payload None and the header's
        length in ``stop_length`` if only the header has arrived).
        """
        buffer = self._in
        if data:
            buffer += data
        start = self._in_start
        view = memoryview(buffer)
        chunks = []
        self.data_records = 0
        self.record = None
        self.stop_length = 0
        stop = Stop.OK
        try:
            while len(buffer) - start >= HEADER_SIZE:
                content_type = buffer[start]
                length = (buffer[start + 3] << 8) | buffer[start + 4]
                if length > MAX_CIPHERTEXT:
                    stop = Stop.OVERFLOW
                    self.stop_length = length
                    break
                complete = len(buffer) - start - HEADER_SIZE >= length
                key = self._read_key
                if content_type == APPLICATION_DATA and key is not None:
                    if not complete:
                        break
                    end = start + HEADER_SIZE + length
                    out = bytearray(max(length - TAG_SIZE, 0))
                    opened = key.open_into(out, len(out), view[start:end], end - start, 1)
                    if opened.error is not None:
                        stop = _ERROR_STOPS[opened.error]
                        self.stop_length = length
                        break
                    inner, offset, size = opened.segments[0]
                    payload = bytes(out[offset:offset + size])
                    start = end
                    if inner == APPLICATION_DATA:
                        self.data_records += 1
                        chunks.append(payload)
                        continue
                    self.record = (inner, payload, True, True)
                    stop = Stop.RECORD
                    break
                stop = Stop.RECORD
                if not complete:
                    self.record = (content_type, None, False, False)
                    self.stop_length = length
                    break
                end = start + HEADER_SIZE + length
                self.record = (content_type, bytes(buffer[start + HEADER_SIZE:end]), False, True)
                start = end
                break
        finally:
            view.release()
        if start == len(buffer):
            buffer.clear()
            start = 0
        elif start > 4096 and start * 2 > len(buffer):
            del buffer[:start]
            start = 0
        self._in_start = start
        self.stop = stop
        if not chunks:
            return b""
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    def seq(self, write: bool) -> int | None:
        """The sequence number of the next record written or read; None before a key is set."""
        key = self._write_key if write else self._read_key
        return None if key is None else key.seq

    def skip_record(self) -> None:
        """Drop the complete record at the front of the bytes received (rejected early data)."""
        buffer, start = self._in, self._in_start
        if len(buffer) - start < HEADER_SIZE:
            raise RecordError("no complete record to skip")
        length = (buffer[start + 3] << 8) | buffer[start + 4]
        if len(buffer) - start - HEADER_SIZE < length:
            raise RecordError("no complete record to skip")
        self._in_start = start + HEADER_SIZE + length
