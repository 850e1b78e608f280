"""The messages of one seal_messages call: one record each (RFC 8446 section 5.2).

The messages are gathered into one buffer with an array of their lengths, which is all the
native code needs. A Sealer gathers into a buffer it keeps from call to call (up to
:data:`KEEP_BYTES`), whose pages are already mapped: a fresh buffer for every call costs page
faults that, for small messages, outweigh copying them. The lengths are taken with ``len()`` and
only checked (each at most 2^14, counting bytes) where the native code refuses them, or by the
Python twin, so the common case costs one copy and one pass over the lengths.
"""

from __future__ import annotations

import array
import io

from ._suites import MAX_FRAGMENT, byte_view, record_size

KEEP_BYTES = 4 * 2**20  # a Sealer keeps a gathering buffer up to this size between calls
_PLAIN_OVERHEAD = record_size(0, 0)  # header, content type and tag: 22 bytes per record


class Messages:
    """``data``: the messages one after another; ``lengths``: an array('Q') of their lengths.

    Used as a context manager: on leaving, the view of ``buffer`` (an io.BytesIO the messages
    were gathered into; None to join them into a new bytes object) is released.
    """

    __slots__ = ("data", "lengths", "_given", "_exact", "_views")

    def __init__(self, messages, buffer: io.BytesIO | None = None):
        if not isinstance(messages, (list, tuple)):
            messages = list(messages)
        self._given = messages
        self._exact = False
        self._views: tuple[memoryview, ...] = ()
        self.data: bytes | memoryview
        self.lengths = array.array("Q", map(len, messages))
        if buffer is None:
            self.data = b"".join(messages)
            return
        buffer.seek(0)
        buffer.writelines(messages)
        whole = buffer.getbuffer()
        self.data = whole[: buffer.tell()]
        self._views = (self.data, whole)

    def __enter__(self) -> "Messages":
        return self

    def __exit__(self, *exc) -> None:
        for view in self._views:
            view.release()
        self._views = ()

    def __len__(self) -> int:
        return len(self.lengths)

    def exact(self) -> "Messages":
        """These messages with lengths counted in bytes, each checked against 2^14.

        ``len()`` of a bytes-like object may count items of more than one byte (an array('H'),
        a memoryview of format 'I'); ValueError for a message that does not fit one record.
        """
        if not self._exact:
            if sum(self.lengths) != len(self.data):
                self.lengths = array.array("Q", (len(byte_view(m)) for m in self._given))
            longest = max(self.lengths, default=0)
            if longest > MAX_FRAGMENT:
                raise ValueError(
                    "a message of %d bytes does not fit one record (at most 2^14)" % longest
                )
            self._exact = True
        return self

    def sealed_size(self, pad_to: int) -> int:
        """Bytes the records take; call on :meth:`exact` messages when ``pad_to`` > 0."""
        if pad_to == 0:  # whatever len() counted, the content adds up to the gathered bytes
            return len(self.data) + len(self.lengths) * _PLAIN_OVERHEAD
        return sum(record_size(n, pad_to) for n in self.lengths)
