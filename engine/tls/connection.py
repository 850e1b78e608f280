"""What client and server connections share: records in and out, alerts, KeyUpdate, close.

A connection is sans-I/O (in the manner of h11): :meth:`receive_data` takes bytes from the
transport and returns events, :meth:`data_to_send` gives the bytes to write. A fault of the peer
queues the alert of RFC 8446 section 6 in ``data_to_send()`` and raises the
:class:`~engine.errors.ProtocolError` subclass for it; a fatal alert from the peer raises
:class:`~engine.errors.PeerAlertError`. Either way the connection is then closed: a later
``receive_data`` raises :class:`~engine.errors.LocalProtocolError`. The events of the same call
that came before the fault (application data, say) are on the exception as ``events``. After
an orderly close (close_notify or EOF) ``receive_data`` returns no events.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from .._buffers import BytesLike
from .. import _backend, errors
from ..errors import (
    AlertDescription, DecodeError, LocalProtocolError, PeerAlertError, ProtocolError,
    UnexpectedMessageError,
)
from ..records import RecordLayer, Stop
from . import codec
from .constants import MAX_HANDSHAKE_MESSAGE, ContentType, HandshakeType, KeyUpdateRequest
from .events import AlertReceived, ApplicationData, ConnectionClosed, EarlyDataReceived
from .key_schedule import derive_secret, hkdf_expand_label, next_traffic_secret
from .record_layer import check_plaintext_record, read_error

if TYPE_CHECKING:
    from .config import ClientConfig, ServerConfig
    from .constants import CipherSuite
    from .events import Event
    from .key_schedule import KeySchedule
    from .states import ClientState, ServerState, Transition

    # a traffic secret set but not yet made into record keys, with the keys when given
    PendingKeys = tuple[bytes, bytes | None, bytes | None]

_CLOSE_NOTIFY = AlertDescription.close_notify
_USER_CANCELED = AlertDescription.user_canceled
_APPLICATION_DATA = ContentType.application_data
_HANDSHAKE = ContentType.handshake
_ALERT = ContentType.alert
_RECORD = Stop.RECORD
_BYTES_TYPES = (bytes, bytearray, memoryview)  # taken without a call; others are checked
_UPDATE = Stop.UPDATE


def _check_bytes(data, what: str) -> None:
    """TypeError unless ``data`` is bytes-like (None is not end of file, a str is not bytes)."""
    if isinstance(data, _BYTES_TYPES):  # their subclasses
        return
    try:
        memoryview(data).release()
    except TypeError:
        raise TypeError("%s takes a bytes-like object, not %s" % (what, type(data).__name__)) \
            from None


def _message_name(msg_type: int) -> str:
    try:
        return HandshakeType(msg_type).name
    except ValueError:
        return "handshake message of unknown type %d" % msg_type


class Connection:
    """Base of ClientConnection and ServerConnection."""

    # each role sets these: its table of (state, message type) -> Transition (see states.py)
    # and its states
    _transitions: dict[tuple[ClientState | ServerState, int], Transition] = {}
    _connected_state: ClientState | ServerState
    _closed_state: ClientState | ServerState

    def __init__(self, config: ClientConfig | ServerConfig) -> None:
        self._config = config
        self._backend = _backend.resolve()  # ENGINE_BACKEND read once per connection
        self._records = RecordLayer(self._backend)  # keys, bytes to send, bytes not yet read
        self._write_bytes = self._records.write_bytes  # one call into the layer per send_data
        # data_to_send() is the layer's own: no call of this class's method in between
        self.data_to_send = self._records.data_to_send  # type: ignore[method-assign]
        # Traffic secrets set but not yet made into record keys: keys that are never used
        # (the application keys of a connection closed at once) cost nothing.
        self._read_pending: PendingKeys | None = None
        self._write_pending: PendingKeys | None = None
        # the suite of a pending 0-RTT write key (see _set_write_secret)
        self._write_suite: CipherSuite | None = None
        self._read_protected = False  # a read key is set: the peer's records are protected
        self._write_protected = False  # a write key is set: our records are protected
        self._update_after: int | None = None  # records per write key; None: the suite's
        self._early_data_budget = 0  # bytes of rejected 0-RTT records still to skip
        self._early_data_left: int | None = None  # accepted 0-RTT: bytes the client may send
        self._handshake_buffer = bytearray()
        self._read_keys_changed = False
        self.suite: CipherSuite | None = None  # once negotiated
        self._schedule: KeySchedule | None = None
        self._read_secret: bytes | None = None  # application traffic secrets, for KeyUpdate
        self._write_secret: bytes | None = None
        self._exporter_secret: bytes | None = None
        self._ccs_allowed = False  # between the first ClientHello and the peer's Finished
        self._receive_closed = False
        self._send_closed = False
        self._failed: str | None = None
        self.handshake_complete = False
        self.client_random = b""
        # each role's __init__ sets its first state
        self._state: ClientState | ServerState = self._closed_state

    # --- public API ---------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        """True once the connection failed, the peer closed it, or :meth:`close` was called."""
        return self._failed is not None or self._receive_closed or self._send_closed

    def data_to_send(self) -> bytes:
        """Everything queued for the transport, emptied: one buffer however many writes."""
        return self._records.data_to_send()

    def receive_data(self, data: BytesLike) -> list[Event]:
        """Process bytes from the peer; ``b""`` means the transport reached end of file.

        ``data`` must be bytes-like (TypeError otherwise, and the connection is unchanged).
        """
        if type(data) not in _BYTES_TYPES:
            _check_bytes(data, "receive_data")
        if self._failed is not None:
            raise LocalProtocolError("the connection has failed (%s)" % self._failed)
        events: list = []
        if self._receive_closed:
            return events
        if not data:
            self._receive_closed = True
            self._state = self._closed_state
            events.append(ConnectionClosed())
            return events
        records = self._records
        try:
            while True:  # a run of application data per read; other records one at a time
                if self._read_pending is not None and (data or records.received):
                    self._install_read_key()
                plaintext = records.read(data)
                data = b""
                if plaintext:
                    if not self.handshake_complete or self._handshake_buffer:
                        self._on_early_data(plaintext, events)  # else unexpected_message
                    else:
                        events.append(ApplicationData(plaintext))
                stop = records.stop
                if not stop:
                    if not plaintext:
                        self._after_read(stop, events)  # empty records, 0-RTT bookkeeping
                    break
                if not self._after_read(stop, events):
                    break
        except ProtocolError as exc:
            self._fail(exc.alert, str(exc))
            exc.events[:0] = events  # what came before the fault, e.g. application data
            raise
        except PeerAlertError as exc:
            self._failed = "peer sent alert %s" % getattr(exc.description, "name", exc.description)
            self._state = self._closed_state
            exc.events[:0] = events
            raise
        except Exception as exc:  # a defect of ours: still a typed error and an alert
            self._fail(AlertDescription.internal_error, type(exc).__name__)
            raise errors.InternalError(
                "internal error while processing peer data (%s)" % type(exc).__name__,
                events=events,
            ) from exc
        return events

    def send_data(self, data: BytesLike) -> None:
        """Queue application data (after HandshakeComplete): one call into the record layer.

        Allowed after the peer's close_notify, until :meth:`close` (section 6.1: half-close).
        ``data`` must be bytes-like (TypeError otherwise).
        """
        if type(data) not in _BYTES_TYPES:
            _check_bytes(data, "send_data")
        if not self.handshake_complete or self._send_closed or self._failed is not None:
            raise LocalProtocolError("send_data before the handshake is complete"
                                     if not self.handshake_complete
                                     else "send_data on a closed connection")
        if data:
            if self._write_pending is not None:
                self._install_write_key()
            if type(data) is bytes:
                written = self._write_bytes(_APPLICATION_DATA, data, len(data))
            else:
                written = self._records.write(_APPLICATION_DATA, data)
            if written:
                self._after_write(written)

    def export_keying_material(self, label: bytes | str, context: bytes = b"",
                               length: int = 32) -> bytes:
        """TLS-Exporter(label, context, length) of RFC 8446 section 7.5 (after the handshake)."""
        if not self.handshake_complete:
            raise LocalProtocolError("keying material can be exported only after the handshake")
        suite, secret = self.suite, self._exporter_secret
        if secret is None:
            assert self._schedule is not None  # set with the suite, before the handshake ends
            secret = self._exporter_secret = self._schedule.exporter_secret
        assert suite is not None and secret is not None
        if isinstance(label, str):
            try:
                label = label.encode("ascii")
            except UnicodeEncodeError:
                raise LocalProtocolError("an exporter label must be ASCII") from None
        _check_bytes(label, "export_keying_material label")
        _check_bytes(context, "export_keying_material context")
        if not isinstance(length, int):
            raise TypeError("export_keying_material length must be an int")
        label, context = bytes(label), bytes(context)
        if not 0 < length <= 255 * suite.hash_len or len(label) > 249:
            raise LocalProtocolError("exporter label or length out of range")
        name = suite.hash_name
        empty = hashlib.new(name).digest()
        secret = derive_secret(name, secret, label, empty)
        return hkdf_expand_label(name, secret, b"exporter", hashlib.new(name, context).digest(),
                                 length)

    def close(self) -> None:
        """Queue close_notify (section 6.1); nothing more may be sent."""
        if self._send_closed or self._failed is not None:
            return
        self._send_alert(_CLOSE_NOTIFY, level=1)
        self._send_closed = True

    def key_update(self, request_peer: bool = True) -> None:
        """Send KeyUpdate and move to the next write key (section 4.6.3)."""
        if not self.handshake_complete:
            raise LocalProtocolError("key_update before the handshake is complete")
        if self.closed:
            raise LocalProtocolError("key_update on a closed connection")
        self._send_key_update(
            KeyUpdateRequest.update_requested
            if request_peer
            else KeyUpdateRequest.update_not_requested
        )

    # --- receiving ------------------------------------------------------------------------

    def _after_read(self, stop: int, events: list[Event]) -> bool:
        """What a read that did not end plainly calls for (section 5); True to read on."""
        records = self._records
        record = records.record if stop == _RECORD else None  # what a RECORD stop found
        if (not self.handshake_complete or self._handshake_buffer) and records.data_records:
            self._check_application_data()  # empty records are application data too
        if self._early_data_budget and (records.data_records
                                        or (record is not None and record[2])):
            self._early_data_budget = 0  # the client's own records have begun
        if record is not None:
            return self._on_record(record, events) and not self._receive_closed
        if stop == Stop.AUTH and self._skip_early_data(records.stop_length):
            records.skip_record()
            return True
        if stop == Stop.SPACE or stop == Stop.OK:
            return stop == Stop.SPACE
        raise read_error(stop, records.stop_length)

    def _on_record(self, record: tuple, events: list) -> bool:
        """Handle a record other than protected application data; False to wait for more."""
        content_type, payload, protected, complete = record
        if not protected:
            if (content_type == _APPLICATION_DATA and not self._read_protected
                    and self._early_data_budget):
                # 0-RTT data before a second ClientHello (section 4.2.10)
                if not complete:
                    return False
                if self._skip_early_data(len(payload)):
                    return True
            check_plaintext_record(content_type, self._records.stop_length if not complete
                                   else len(payload), self._read_protected)
            if not complete:
                return False
            if content_type == ContentType.change_cipher_spec:
                self._on_change_cipher_spec(payload)
                return True
            if content_type == _ALERT and self.handshake_complete:
                raise UnexpectedMessageError("plaintext alert after the handshake")
        if content_type == _HANDSHAKE:
            self._on_handshake_record(payload, events)
        elif content_type == _ALERT:
            self._on_alert(payload, events)
        else:
            raise UnexpectedMessageError("record of content type %d" % content_type)
        return True

    def _skip_early_data(self, length: int) -> bool:
        """Drop a record of rejected 0-RTT data while the budget lasts (RFC 8446 4.2.10)."""
        if self._early_data_budget < length:
            return False
        self._early_data_budget -= length
        return True

    def _on_early_data(self, plaintext: bytes, events: list) -> None:
        """Application data before the handshake is complete: 0-RTT data the server accepted,
        within its max_early_data_size (RFC 8446 4.2.10), else unexpected_message."""
        self._check_application_data()
        left = self._early_data_left
        assert left is not None  # else the check above raised
        if len(plaintext) > left:
            raise UnexpectedMessageError("more 0-RTT data than max_early_data_size (4.2.10)")
        self._early_data_left = left - len(plaintext)
        events.append(EarlyDataReceived(plaintext))

    def _check_application_data(self) -> None:
        if self._early_data_left is not None and not self._handshake_buffer:
            return  # 0-RTT data, read under the client's early traffic key
        if not self.handshake_complete:
            raise UnexpectedMessageError("application data before the handshake is complete")
        if self._handshake_buffer:
            raise UnexpectedMessageError("application data inside a fragmented handshake message")

    def _on_change_cipher_spec(self, payload: bytes) -> None:
        if payload != b"\x01" or not self._ccs_allowed:
            raise UnexpectedMessageError("change_cipher_spec out of place (section 5)")

    def _on_alert(self, payload: bytes, events: list) -> None:
        if not payload:
            raise UnexpectedMessageError("an alert record of zero length (section 5.1)")
        if len(payload) != 2:
            raise DecodeError("alert of %d bytes" % len(payload))
        if self._handshake_buffer:
            raise UnexpectedMessageError("alert inside a fragmented handshake message")
        description = payload[1]
        if description == _CLOSE_NOTIFY:
            # Section 6.1: close_notify closes the peer's direction only. We may still send
            # (the reply to a half-closed request) until our own close() queues ours.
            events.append(AlertReceived(AlertDescription.close_notify))
            events.append(ConnectionClosed())
            self._receive_closed = True
            self._state = self._closed_state
            return
        if description == _USER_CANCELED:
            events.append(AlertReceived(AlertDescription.user_canceled))
            return
        raise PeerAlertError(description)

    def _on_handshake_record(self, payload: bytes, events: list) -> None:
        if not payload:
            raise UnexpectedMessageError("a handshake record of zero length (section 5.1)")
        buffer = self._handshake_buffer
        if buffer:
            buffer += payload
            if len(buffer) < 4:
                return
            length = (buffer[1] << 16) | (buffer[2] << 8) | buffer[3]
            if length > MAX_HANDSHAKE_MESSAGE:
                raise DecodeError("handshake message of %d bytes is over our limit" % length)
            if len(buffer) < 4 + length:
                return  # linear however small the fragments: nothing is copied until complete
            data = bytes(buffer)
            buffer.clear()
        else:
            data = payload
        pos = 0
        end = len(data)
        transitions = self._transitions
        while end - pos >= 4:
            length = (data[pos + 1] << 16) | (data[pos + 2] << 8) | data[pos + 3]
            if length > MAX_HANDSHAKE_MESSAGE:
                raise DecodeError("handshake message of %d bytes is over our limit" % length)
            if end - pos - 4 < length:
                break
            msg_type = data[pos]
            message = data[pos:pos + 4 + length]
            pos += 4 + length
            found = transitions.get((self._state, msg_type))
            if found is None:
                raise UnexpectedMessageError(
                    "%s in state %s" % (_message_name(msg_type), self._state.name)
                )
            found.handler(self, message, events)
            if self._state not in found.next_states:
                raise errors.InternalError("%s left the connection in state %s" % (
                    found.handler.__name__, self._state.name))
            if self._read_keys_changed:
                self._read_keys_changed = False
                if pos != end:
                    raise UnexpectedMessageError("a handshake message spans a key change (5.1)")
        if pos != end:
            buffer += data[pos:]

    # --- keys -----------------------------------------------------------------------------

    def _set_read_secret(self, secret: bytes, key: bytes | None = None,
                         iv: bytes | None = None) -> None:
        """Read from now on with the keys of a traffic secret (section 7.3), given or derived
        when the next record is read."""
        self._read_pending = (secret, key, iv)
        self._read_protected = True
        self._read_keys_changed = True

    def _set_write_secret(self, secret: bytes, key: bytes | None = None,
                          iv: bytes | None = None, suite: CipherSuite | None = None) -> None:
        """Write from now on with the keys of a traffic secret; made on the next write.
        ``suite``: the session's, for 0-RTT keys set before the handshake has chosen one."""
        self._write_pending = (secret, key, iv)
        self._write_suite = suite
        self._write_protected = True

    def _after_write(self, written: int) -> None:
        """A KeyUpdate when the write key nears its usage limit (section 5.5); else an error."""
        if written == _UPDATE:
            self._send_key_update(KeyUpdateRequest.update_not_requested)
        else:
            self._records.check(written)

    def _traffic_keys(self, suite: CipherSuite, pending: PendingKeys | None
                      ) -> tuple[bytes, bytes]:
        assert pending is not None  # callers check
        secret, key, iv = pending
        if key is None or iv is None:
            kernels = _backend.key_schedule_kernels(self._backend)
            key, iv, _ = kernels.traffic(suite, secret)
        return key, iv

    def _install_read_key(self) -> None:
        suite = self.suite
        assert suite is not None  # the peer's keys follow the ServerHello
        key, iv = self._traffic_keys(suite, self._read_pending)
        self._read_pending = None
        self._records.set_key(False, suite, key, iv)

    def _install_write_key(self) -> None:
        suite = self._write_suite or self.suite
        assert suite is not None  # 0-RTT keys come with the session's suite
        key, iv = self._traffic_keys(suite, self._write_pending)
        self._write_pending = None
        limit = suite.update_after if self._update_after is None else self._update_after
        self._records.set_key(True, suite, key, iv, limit)

    def _on_key_update(self, message: bytes, events: list) -> None:
        request = codec.parse_key_update(message[4:]).request_update
        assert self.suite is not None and self._read_secret is not None  # connected
        self._read_secret = next_traffic_secret(self.suite, self._read_secret)
        self._set_read_secret(self._read_secret)
        if request == KeyUpdateRequest.update_requested and not self._send_closed:
            self._send_key_update(KeyUpdateRequest.update_not_requested)

    def _send_key_update(self, request: int) -> None:
        self._send_handshake(codec.build_key_update(codec.KeyUpdate(request)))
        assert self.suite is not None and self._write_secret is not None  # connected
        self._write_secret = next_traffic_secret(self.suite, self._write_secret)
        self._set_write_secret(self._write_secret)

    # --- sending --------------------------------------------------------------------------

    def _send_handshake(self, message: bytes) -> None:
        """Protected if a write key is set, else in plaintext records (section 5.1)."""
        if self._write_pending is not None:
            self._install_write_key()
        self._records.write(_HANDSHAKE, message)

    def _send_alert(self, description: int, level: int = 2) -> None:
        if self._write_pending is not None:
            self._install_write_key()
        self._records.write(_ALERT, bytes((level, description)))

    def _write_plaintext(self, content_type: int, data: bytes, version: int = 0x0303) -> None:
        """TLSPlaintext records whatever the keys: a ClientHello, change_cipher_spec (D.4)."""
        self._records.write_plaintext(content_type, data, version)

    def _send_change_cipher_spec(self) -> None:
        self._write_plaintext(ContentType.change_cipher_spec, b"\x01")

    def _fail(self, alert: AlertDescription, reason: str) -> None:
        """Queue a fatal alert and close (section 6.2)."""
        if self._failed is None and not self._send_closed:
            try:
                self._send_alert(alert)
            except Exception:  # no way to protect the alert (keys used up): send nothing
                pass
        self._failed = reason or alert.name
        self._send_closed = True
        self._state = self._closed_state
