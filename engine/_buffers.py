"""The buffer types the public API takes, named once for its annotations."""

from __future__ import annotations

#: Bytes to read from: immutable bytes, or a caller's buffer that is pinned while a call reads it.
BytesLike = bytes | bytearray | memoryview
#: A caller's buffer that a call writes into.
WritableBuffer = bytearray | memoryview
