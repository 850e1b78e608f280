"""The TLS 1.3 record layer around engine.records (RFC 8446 section 5).

Received bytes go into a bytearray read from an offset, so parsing stays linear however the
bytes arrive. Before keys are set, records are plaintext (TLSPlaintext, section 5.1); once an
:class:`~engine.records.Opener` is set, every complete application_data record at the front of
the buffer is opened in one call, and the only plaintext records let through are
change_cipher_spec (middlebox compatibility, section 5) and alerts (a peer may fail before it
has keys). All protection goes through :class:`~engine.records.Sealer` and ``Opener``.
"""

from __future__ import annotations

from ..errors import RecordAuthenticationError, RecordOverflowError, UnexpectedMessageError
from ..records import Opener, Sealer
from .constants import MAX_CIPHERTEXT, MAX_PLAINTEXT, ContentType
from .key_schedule import traffic_key

_HEADER = 5
_PLAINTEXT_TYPES = (ContentType.change_cipher_spec, ContentType.alert, ContentType.handshake)


def plaintext_records(content_type: int, data: bytes, version: bytes = b"\x03\x03") -> bytes:
    """TLSPlaintext records of at most 2^14 bytes each carrying ``data`` (section 5.1)."""
    prefix = bytes((content_type,)) + version
    if len(data) <= MAX_PLAINTEXT:
        return prefix + len(data).to_bytes(2, "big") + data
    out = []
    for start in range(0, len(data), MAX_PLAINTEXT):
        chunk = data[start:start + MAX_PLAINTEXT]
        out.append(prefix + len(chunk).to_bytes(2, "big") + chunk)
    return b"".join(out)


CHANGE_CIPHER_SPEC = plaintext_records(ContentType.change_cipher_spec, b"\x01")
_UNSET = object()  # keys are set but the Sealer or Opener is not made yet
_SKIPPED = object()  # a record of rejected early data was dropped: read on
_MIN_WINDOW = 1024
_MAX_WINDOW = 1 << 20


class RecordLayer:
    """Framing of received records and the current read and write protection."""

    __slots__ = ("_buffer", "_offset", "_opener", "_sealer", "_read_secret", "_write_secret",
                 "_suite", "_pending_error", "_window", "early_data_budget", "_backend")

    def __init__(self, backend: str | None = None):
        self._backend = backend  # for every Sealer and Opener; None: ENGINE_BACKEND each time
        self._buffer = bytearray()
        self._offset = 0
        self._opener: Opener | None = None
        self._sealer: Sealer | None = None
        self._read_secret: bytes | None = None  # keys set but not yet made into an Opener
        self._write_secret: bytes | None = None
        self._suite = None
        self._pending_error: Exception | None = None
        self._window: int | None = None  # most bytes given to one Opener call; None: all
        self.early_data_budget = 0  # bytes of rejected 0-RTT records still to skip

    def feed(self, data) -> None:
        buffer = self._buffer
        offset = self._offset
        try:
            if offset and offset == len(buffer):
                del buffer[:]
                self._offset = 0
            elif offset > 4096 and offset * 2 > len(buffer):
                del buffer[:offset]
                self._offset = 0
            buffer += data
        except BufferError:  # a view of the old buffer is still alive: move to a new one
            self._buffer = bytearray(memoryview(buffer)[offset:]) + data
            self._offset = 0

    def buffered(self) -> int:
        return len(self._buffer) - self._offset

    def set_read_secret(self, suite, secret: bytes) -> None:
        """Read from now on with the keys of a traffic secret (section 7.3), sequence from zero.

        The Opener is made when the first protected record arrives, so keys that are never
        used cost nothing.
        """
        self._suite = suite
        self._read_secret = secret
        self._opener = _UNSET

    def set_write_secret(self, suite, secret: bytes) -> None:
        """Write from now on with the keys of a traffic secret; the Sealer is made on first use."""
        self._suite = suite
        self._write_secret = secret
        self._sealer = _UNSET

    @property
    def opener(self) -> Opener | None:
        opener = self._opener
        if opener is _UNSET:
            key, iv = traffic_key(self._suite, self._read_secret)
            opener = self._opener = Opener(self._suite.name, key, iv, backend=self._backend)
        return opener

    @property
    def sealer(self) -> Sealer | None:
        sealer = self._sealer
        if sealer is _UNSET:
            key, iv = traffic_key(self._suite, self._write_secret)
            sealer = self._sealer = Sealer(self._suite.name, key, iv, backend=self._backend)
        return sealer

    @property
    def protected_writes(self) -> bool:
        """Whether a write key is set (records we send are protected)."""
        return self._sealer is not None

    def read(self) -> tuple[list, bool]:
        """The next records: ``([(content_type, payload), ...], protected)``; ``[]`` if none.

        Plaintext records come one at a time, protected ones as many as the Opener opens in one
        call. Records before one that fails authentication are returned first; the error is
        raised by the next call.
        """
        while True:
            result = self._read_once()
            if result is not _SKIPPED:
                return result

    def _skip_early_data(self, offset: int, length: int) -> bool:
        """Drop a record of rejected 0-RTT data while the budget lasts (RFC 8446 4.2.10)."""
        if self.early_data_budget < length:
            return False
        self.early_data_budget -= length
        self._offset = offset + _HEADER + length
        return True

    def _read_once(self):
        if self._pending_error is not None:
            raise self._pending_error
        buffer = self._buffer
        offset = self._offset
        available = len(buffer) - offset
        if available < _HEADER:
            return [], False
        content_type = buffer[offset]
        length = (buffer[offset + 3] << 8) | buffer[offset + 4]
        if length > MAX_CIPHERTEXT:
            raise RecordOverflowError("record of %d bytes exceeds 2^14 + 256" % length)
        opener = self._opener
        if opener is not None and content_type == ContentType.application_data:
            if opener is _UNSET:
                opener = self.opener
            window = self._window
            end = len(buffer)
            if window is not None:
                end = min(end, max(offset + window, offset + _HEADER + length))
            view = memoryview(buffer)
            try:
                segments, consumed = opener.open(view[offset:end])
            except Exception as exc:
                segments = getattr(exc, "segments", None)
                if not segments:
                    if (isinstance(exc, RecordAuthenticationError) and self.early_data_budget
                            and self._skip_early_data(offset, length)):
                        return _SKIPPED
                    raise
                self._offset = offset + exc.consumed
                self._pending_error = exc
                return segments, True
            finally:
                view.release()
            self._offset = offset + consumed
            if consumed:
                self.early_data_budget = 0  # the client's own records have begun
            stopped_early = segments and consumed < end - offset
            if stopped_early and segments[-1][0] != ContentType.application_data:
                # The Opener stopped after a handshake record or an alert, and every call looks
                # at all it is given: while such records come, give it less, so many small
                # records cost linear time; the window doubles back as application data flows.
                self._window = max(2 * consumed, _MIN_WINDOW)
            elif window is not None and end < len(buffer):
                self._window = None if window >= _MAX_WINDOW else 2 * window
            return segments, True
        early = self.early_data_budget
        if early and content_type == ContentType.application_data and opener is None:
            if available < _HEADER + length:
                return [], False
            if self._skip_early_data(offset, length):  # 0-RTT data before a second ClientHello
                return _SKIPPED
        # The header alone decides these, so a peer that does not speak TLS is told at once.
        if content_type not in _PLAINTEXT_TYPES:
            if content_type == ContentType.application_data:
                raise UnexpectedMessageError("application_data record before keys were set")
            raise UnexpectedMessageError("record of unknown content type %d" % content_type)
        if content_type == ContentType.handshake and opener is not None:
            raise UnexpectedMessageError("plaintext handshake record after keys were set")
        if length > MAX_PLAINTEXT:
            raise RecordOverflowError("plaintext record of %d bytes exceeds 2^14" % length)
        if available < _HEADER + length:
            return [], False
        start = offset + _HEADER
        payload = bytes(buffer[start:start + length])
        self._offset = start + length
        return [(content_type, payload)], False

    def protect(self, content_type: int, data: bytes) -> bytes:
        """Records carrying ``data``: sealed if a write key is set, else plaintext."""
        if self._sealer is None:
            return plaintext_records(content_type, data)
        return self.sealer.seal(data, content_type=content_type)
