"""The pure-Python record protection: cryptography's AEADs applied record by record.

It writes exactly the bytes the native code writes and follows the same stopping rules, so either
backend can be used for either direction. RFC 8446 section 5.2 gives the record layout, 5.3 the
nonce and 5.4 the inner plaintext with its content type and padding.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidTag

from ._suites import (
    APPLICATION_DATA,
    HEADER_SIZE,
    MAX_CIPHERTEXT,
    MAX_INNER_PLAINTEXT,
    SEQ_LIMIT,
    TAG_SIZE,
    Suite,
    check_capacity,
    inner_size,
    nonce,
)
from ._outcome import Opened


def _header(length: int) -> bytes:
    return bytes((APPLICATION_DATA, 3, 3, length >> 8, length & 0xFF))


class PythonKey:
    """One direction's traffic key and static IV, protecting records with cryptography."""

    def __init__(self, suite: Suite, key: bytes, iv: bytes, encrypt: bool = True):
        self._aead = suite.aead(key)
        self._iv = int.from_bytes(iv, "big")

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
                  max_fragment: int, pad_to: int, seq: int, threads: int) -> None:
        """Write the records of ``data``; the caller has checked sizes and sequence numbers."""
        out, data = memoryview(out).cast("B"), memoryview(data).cast("B")
        pos = 0
        tails = {}
        for start in range(0, len(data), max_fragment):
            content = data[start : start + max_fragment]
            n = len(content)
            tail = tails.get(n)
            if tail is None:
                tail = tails[n] = bytes((content_type,)) + bytes(inner_size(n, pad_to) - n - 1)
            pos = self._seal_one(out, pos, content, tail, seq)
            seq += 1

    def seal_new(self, data, length: int, size: int, content_type: int, max_fragment: int,
                 pad_to: int, seq: int, threads: int) -> bytes:
        out = bytearray(size)
        self.seal_into(out, size, data, length, content_type, max_fragment, pad_to, seq, threads)
        return bytes(out)

    def seal_messages_new(self, messages, content_type: int, pad_to: int, seq: int,
                          threads: int) -> bytes:
        out = bytearray(messages.exact().sealed_size(pad_to))
        self.seal_messages_into(out, len(out), messages, content_type, pad_to, seq, threads)
        return bytes(out)

    def seal_messages_into(self, out, capacity: int, messages, content_type: int, pad_to: int,
                           seq: int, threads: int) -> int:
        """One record per message (a :class:`Messages`) into ``out``; returns the bytes written."""
        size = messages.exact().sealed_size(pad_to)
        check_capacity(capacity, size)
        pos = start = 0
        with memoryview(out) as whole, whole.cast("B") as view, \
                memoryview(messages.data) as data:
            for n in messages.lengths:
                tail = bytes((content_type,)) + bytes(inner_size(n, pad_to) - n - 1)
                pos = self._seal_one(view, pos, data[start : start + n], tail, seq)
                start += n
                seq += 1
        return size

    def plaintext_bound(self, wire, length: int) -> int:
        """An output size enough for every complete record at the front of ``wire``."""
        total = pos = 0
        while length - pos >= HEADER_SIZE and wire[pos] == APPLICATION_DATA:
            size = (wire[pos + 3] << 8) | wire[pos + 4]
            if length - pos - HEADER_SIZE < size:
                break
            total += max(size - TAG_SIZE, 0)
            pos += HEADER_SIZE + size
        return total

    def open_into(self, out, capacity: int, wire, length: int, seq: int, threads: int) -> Opened:
        """Open the complete application_data records at the front of ``wire`` into ``out``."""
        out, wire = memoryview(out).cast("B"), memoryview(wire).cast("B")
        segments = []
        pos = off = 0
        end = length
        index = 0
        while end - pos >= HEADER_SIZE:
            if wire[pos] != APPLICATION_DATA:
                break
            length = (wire[pos + 3] << 8) | wire[pos + 4]
            if length > MAX_CIPHERTEXT or length - TAG_SIZE > MAX_INNER_PLAINTEXT:
                return Opened(segments, pos, index, "overflow")
            if end - pos - HEADER_SIZE < length:
                break
            if seq + index >= SEQ_LIMIT:
                return Opened(segments, pos, index, "seq")
            plain_len = max(length - TAG_SIZE, 0)
            if off + plain_len > len(out):
                return Opened(segments, pos, index, "space")
            if length < TAG_SIZE:
                return Opened(segments, pos, index, "auth")
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
                return Opened(segments, pos, index, "auth")
            content_len = len(bytes(target).rstrip(b"\0")) - 1
            if content_len < 0:
                return Opened(segments, pos, index, "unexpected")
            content_type = target[content_len]
            segments.append((content_type, off, content_len))
            off += content_len
            pos = record_end
            index += 1
            if content_type != APPLICATION_DATA:
                break
        return Opened(segments, pos, index, None)
