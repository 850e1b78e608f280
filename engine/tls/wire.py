"""Reading and writing the presentation language of RFC 8446 section 3.

:class:`Reader` walks a byte string; :meth:`Reader.vector` opens a length-prefixed block as a
context manager that checks, on leaving, that the block was read exactly. Running short of data,
or leaving bytes behind in a block, raises :class:`~engine.errors.DecodeError`.
"""

from __future__ import annotations

import builtins
import struct

from ..errors import DecodeError


class _Block:
    """Context manager of one length-prefixed block inside a Reader."""

    __slots__ = ("reader", "outer_end")

    def __init__(self, reader: "Reader", outer_end: int):
        self.reader = reader
        self.outer_end = outer_end

    def __enter__(self) -> "Reader":
        return self.reader

    def __exit__(self, exc_type, exc, tb) -> None:
        reader = self.reader
        if exc_type is None and reader.pos != reader.end:
            left = reader.end - reader.pos
            raise DecodeError("%d trailing bytes in a length-prefixed block" % left)
        reader.end = self.outer_end


class Reader:
    """A cursor over ``data`` from ``pos`` to ``end``; every read is bounds-checked."""

    __slots__ = ("data", "pos", "end")

    def __init__(self, data: bytes, pos: int = 0, end: int | None = None):
        self.data = data
        self.pos = pos
        self.end = len(data) if end is None else end

    def _take(self, n: int) -> int:
        pos = self.pos
        if pos + n > self.end:
            raise DecodeError("message truncated: needed %d bytes, %d left" % (n, self.end - pos))
        self.pos = pos + n
        return pos

    def remaining(self) -> int:
        return self.end - self.pos

    def at_end(self) -> bool:
        return self.pos >= self.end

    def expect_end(self) -> None:
        if self.pos != self.end:
            raise DecodeError("%d trailing bytes after a message" % (self.end - self.pos))

    def uint8(self) -> int:
        pos = self.pos
        if pos >= self.end:
            raise DecodeError("message truncated: needed 1 byte, none left")
        self.pos = pos + 1
        return self.data[pos]

    def uint16(self) -> int:
        pos = self.pos
        if pos + 2 > self.end:
            raise DecodeError("message truncated: needed 2 bytes, %d left" % (self.end - pos))
        self.pos = pos + 2
        data = self.data
        return (data[pos] << 8) | data[pos + 1]

    def uint24(self) -> int:
        pos = self._take(3)
        data = self.data
        return (data[pos] << 16) | (data[pos + 1] << 8) | data[pos + 2]

    def uint32(self) -> int:
        pos = self._take(4)
        return int.from_bytes(self.data[pos:pos + 4], "big")

    def bytes(self, n: int) -> bytes:
        pos = self.pos
        if pos + n > self.end:
            raise DecodeError("message truncated: needed %d bytes, %d left" % (n, self.end - pos))
        self.pos = pos + n
        return bytes(self.data[pos:pos + n])

    def opaque(self, length_size: int, minimum: int = 0) -> builtins.bytes:  # not self.bytes
        """An opaque vector with a ``length_size``-byte length prefix."""
        pos = self.pos
        data = self.data
        if pos + length_size > self.end:
            raise DecodeError("message truncated in a length prefix")
        if length_size == 2:
            n = (data[pos] << 8) | data[pos + 1]
        elif length_size == 1:
            n = data[pos]
        else:
            n = (data[pos] << 16) | (data[pos + 1] << 8) | data[pos + 2]
        pos += length_size
        if n < minimum:
            raise DecodeError("vector shorter than its minimum of %d bytes" % minimum)
        if pos + n > self.end:
            raise DecodeError("message truncated: needed %d bytes, %d left" % (n, self.end - pos))
        self.pos = pos + n
        return bytes(data[pos:pos + n])

    def _length(self, length_size: int) -> int:
        if length_size == 1:
            return self.uint8()
        if length_size == 2:
            return self.uint16()
        return self.uint24()

    def vector(self, length_size: int, minimum: int = 0) -> _Block:
        """Enter a length-prefixed block: reads stay inside it, and it must be read exactly."""
        n = self._length(length_size)
        if n < minimum:
            raise DecodeError("vector shorter than its minimum of %d bytes" % minimum)
        if self.pos + n > self.end:
            raise DecodeError("vector of %d bytes overruns its container" % n)
        block = _Block(self, self.end)
        self.end = self.pos + n
        return block

    def uint16_list(self, length_size: int = 2, minimum: int = 2) -> list[int]:
        """A vector of uint16 values (cipher suites, groups, signature schemes)."""
        n = self._length(length_size)
        if n < minimum or n & 1:
            raise DecodeError("bad length %d for a list of 16-bit values" % n)
        pos = self._take(n)
        return list(struct.unpack_from(">%dH" % (n >> 1), self.data, pos))


def u8(value: int) -> bytes:
    return bytes((value,))


def u16(value: int) -> bytes:
    return value.to_bytes(2, "big")


def u24(value: int) -> bytes:
    return value.to_bytes(3, "big")


def opaque8(data: bytes) -> bytes:
    return bytes((len(data),)) + data


def opaque16(data: bytes) -> bytes:
    return len(data).to_bytes(2, "big") + data


def opaque24(data: bytes | bytearray) -> bytes:
    return len(data).to_bytes(3, "big") + data


def uint16_list(values, length_size: int = 2) -> bytes:
    body = b"".join(v.to_bytes(2, "big") for v in values)
    return len(body).to_bytes(length_size, "big") + body
