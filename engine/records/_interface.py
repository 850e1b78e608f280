"""What the two backends of the record core provide (RFC 8446 section 5).

engine._backend picks the implementation: :mod:`._native` (the C record core of
csrc/engine_records.h) or :mod:`._python` (cryptography's AEADs, record by record). Both write
the same bytes and stop at the same places. The callers check every argument first (sizes,
options, buffers: see ._suites), so neither implementation is the place for usage errors.
"""

from __future__ import annotations

from typing import Optional, Protocol, runtime_checkable

from ._messages import Messages
from ._suites import Opened, Suite


@runtime_checkable
class RecordKey(Protocol):
    """One direction's traffic key, static IV and sequence number (sections 5.2, 5.3): what a
    Sealer or an Opener stands on. A key object is made for sealing or for opening."""

    @property
    def seq(self) -> int:
        """The sequence number of the next record (2^64 once every number is used)."""
        ...

    def seal_into(self, out, capacity: int, data, length: int, content_type: int,
                  max_fragment: int, pad_to: int, threads: int) -> None:
        """Write the records carrying ``data`` into ``out``, which the caller sized."""
        ...

    def seal_new(self, data, length: int, size: int, content_type: int, max_fragment: int,
                 pad_to: int, threads: int) -> bytes:
        """The ``size`` bytes of records carrying ``data``."""
        ...

    def seal_messages_into(self, out, capacity: int, messages: Messages, content_type: int,
                           pad_to: int, threads: int) -> int:
        """One record per message into ``out``; the bytes written."""
        ...

    def seal_messages_new(self, messages: Messages, content_type: int, pad_to: int,
                          threads: int) -> bytes:
        """One record per message, as new bytes."""
        ...

    def open_new(self, wire, length: int, threads: int) -> tuple:
        """(``[(content_type, plaintext), ...]``, consumed, records, error) for the complete
        application_data records at the front of ``wire``."""
        ...

    def open_into(self, out, capacity: int, wire, length: int, threads: int) -> Opened:
        """Open the complete application_data records at the front of ``wire`` into ``out``."""
        ...


@runtime_checkable
class RecordLayerCore(Protocol):
    """The record layer of one connection: both directions' keys, the records waiting to be
    sent and the bytes received and not yet read (engine.records.RecordLayer gives one).

    After :meth:`read`, ``stop`` says why it ended (a ``Stop``), ``record`` holds a record
    handed over as ``(content_type, payload, protected, complete)`` (payload None and the
    header's length in ``stop_length`` when only the header has arrived), and
    ``data_records`` counts the application data records opened.
    """

    stop: int
    record: Optional[tuple]
    stop_length: int

    @property
    def to_send(self) -> int:
        """Bytes of records waiting for :meth:`data_to_send`."""
        ...

    @property
    def received(self) -> int:
        """Bytes received and not yet read."""
        ...

    @property
    def data_records(self) -> int:
        ...

    def set_key(self, write: bool, suite: Suite, key: bytes, iv: bytes,
                update_after: int = 0) -> None:
        """Protect what is written (``write``) or open what is read with a new key from here
        on; for a write key, ``update_after`` records (0: never) make :meth:`write` answer
        Stop.UPDATE (section 5.5)."""
        ...

    def set_limits(self, max_fragment: int, pad_to: int) -> None:
        """The most content per written record (1 to 2^14) and the padding (section 5.4)."""
        ...

    def write(self, content_type: int, data) -> int:
        """Queue the records carrying ``data``: protected, or plaintext before a write key.
        Returns 0, or Stop.UPDATE once the write key nears its usage limit."""
        ...

    def write_bytes(self, content_type: int, data: bytes, length: int) -> int:
        """:meth:`write` for immutable bytes: 0, Stop.UPDATE or an error code for
        :meth:`check`."""
        ...

    def check(self, rc: int) -> None:
        """Raise what an error code of :meth:`write_bytes` means."""
        ...

    def write_plaintext(self, content_type: int, data, version: int = 0x0303) -> None:
        """Queue TLSPlaintext records whatever the keys (section 5.1)."""
        ...

    def data_to_send(self) -> bytes:
        """The records queued, emptied."""
        ...

    def read(self, data) -> bytes:
        """Add received bytes and read the records now complete; the application data."""
        ...

    def seq(self, write: bool) -> Optional[int]:
        """The sequence number of the next record written or read; None before a key."""
        ...

    def skip_record(self) -> None:
        """Drop the complete record at the front of the bytes received (rejected 0-RTT)."""
        ...
