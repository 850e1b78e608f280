"""One I/O driver under both adapters: the TLS bookkeeping around a sans-I/O connection.

:mod:`engine.blocking` (sockets and threads) and :mod:`engine.aio` (transports and the event
loop) move bytes differently but do the same work around the connection of :mod:`engine.tls`;
it is written here once:

- **making** the connection: the config of the right side or a TypeError at once, and the
  server name (explicit, else the config's, else the host);
- **feeding** it (:meth:`Driver.feed`): bytes in, byte counters, events handed to the adapter's
  callbacks, a fault turned into the error to raise (the alert for it queued). A transport that
  ends without close_notify is a :class:`~engine.errors.TLSEOFError`, told apart from an orderly
  close (RFC 8446 section 6.1); a peer whose first bytes are not TLS records is said to be one;
- **flushing** it (:meth:`Driver.data_to_send`): what it queued, counted;
- **what the handshake agreed** (:class:`TLSInfo`), in engine's names and with the methods of
  ``ssl.SSLObject``, so code written for ``ssl`` can read it;
- **reporting** a server-side connection that failed: to ``on_error`` if given, else to the
  logger ``engine``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Callable, Literal, overload

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from ._buffers import BytesLike
from ._listen import format_address
from .errors import (
    AlertDescription, LocalProtocolError, PeerAlertError, ProtocolError, TLSEOFError, TLSError,
)
from .tls import (
    AlertReceived, ApplicationData, ClientConfig, ClientConnection, ConnectionClosed,
    EarlyDataReceived, EarlyDataRejected, HandshakeComplete, ServerConfig, ServerConnection,
)
from .tls.constants import SUITE_BY_CODE, SUITE_BY_NAME, ContentType, HandshakeType

if TYPE_CHECKING:
    from .tls.session import Session

__all__ = ["ALERT_LINGER", "Driver", "TLSInfo", "check_config", "client_connection",
           "server_connection", "report_failure", "log"]

log = logging.getLogger("engine")

PROTOCOL_VERSION = "TLSv1.3"  # as ssl names it
# After our fatal alert, seconds the adapters read and drop input before closing, so that the
# peer can read the alert (a socket closed with input unread sends RST, which may destroy it).
ALERT_LINGER = 1.0
_HEAD_LIMIT = 2048  # first bytes kept until the handshake completes: the ClientHello's start
_CONTENT_TYPES = frozenset(int(t) for t in ContentType)


# --- making connections -------------------------------------------------------------------------


def check_config(config, kind: type, who: str) -> None:
    """TypeError now, not an internal_error in every handshake, for a config of the wrong side."""
    if isinstance(config, kind):
        return
    if isinstance(config, (ClientConfig, ServerConfig)):
        raise TypeError("%s needs a %s; a %s is for the %s side"
                        % (who, kind.__name__, type(config).__name__,
                           "client" if isinstance(config, ClientConfig) else "server"))
    raise TypeError("%s needs a %s, not %s" % (who, kind.__name__, type(config).__name__))


def client_connection(config, host: str | None, server_name: str | None = None, *,
                      who: str = "connect()", session=None, early_data=None) -> tuple:
    """``(ClientConnection, name)`` for ``host``: the name checked in the certificate and sent
    as SNI is ``server_name``, else ``config.server_name``, else ``host`` (without a trailing
    dot). ``session`` and ``early_data`` go to the ClientConnection (RFC 8446 2.2, 2.3)."""
    check_config(config, ClientConfig, who)
    name = server_name or config.server_name or (host.rstrip(".") if host else None)
    return ClientConnection(config, server_name=name, session=session,
                            early_data=early_data), name


def server_connection(config, *, who: str = "serve()") -> ServerConnection:
    check_config(config, ServerConfig, who)
    return ServerConnection(config)


# --- the driver ---------------------------------------------------------------------------------


def _ignore(*_args) -> None:
    return None


class Driver:
    """Feeds one sans-I/O connection and keeps its facts, for an adapter that moves the bytes.

    ``server_hostname`` is the name a client checks (default: the config's). The adapter gives
    three callbacks: ``on_handshake(event)`` once the handshake is complete,
    ``on_data(bytes)`` for application data, ``on_close_notify()`` when the peer closed its
    direction with close_notify (ours stays open until :meth:`close`). Every other way the
    connection ends is an exception out of :meth:`feed`, also kept as ``error``.

    0-RTT (RFC 8446 2.3): early data a server accepted comes to ``on_data`` first, as the start
    of the stream (it may be a replay: the server chose to accept that); early data a server
    refused is sent again by the client once the handshake is complete, so the stream carries
    it either way.
    """

    def __init__(self, connection, config=None, *, server_hostname: str | None = None,
                 on_handshake: Callable = _ignore, on_data: Callable = _ignore,
                 on_close_notify: Callable = _ignore):
        self.connection = connection
        self.config: ClientConfig | ServerConfig = (config if config is not None
                                                    else connection._config)
        self.server_side = isinstance(connection, ServerConnection)
        self.server_hostname = None if self.server_side else (
            server_hostname or getattr(self.config, "server_name", None))
        self.handshake: HandshakeComplete | None = None
        self.alerts: list = []  # AlertDescription values the peer sent (close_notify included)
        self.error: BaseException | None = None  # what ended it, unless it was close_notify
        self.close_notify_received = False
        self.close_notify_sent = False
        self.bytes_sent = 0  # every byte of every record, handshake included
        self.bytes_received = 0
        self.plaintext_sent = 0
        self.plaintext_received = 0
        self.offered_suites: tuple | None = None  # the client's cipher_suites, on a server
        self.early_data_received = 0  # bytes of 0-RTT data accepted (a server)
        self._early_data_resend: bytes | None = None  # refused 0-RTT data (a client)
        self._head: bytearray | None = bytearray()
        self._on_handshake = on_handshake
        self._on_data = on_data
        self._on_close_notify = on_close_notify

    # --- bytes in -----------------------------------------------------------------------------

    def feed(self, data: BytesLike) -> None:
        """Give the connection bytes from the transport (``b""``: it reached end of file).

        Raises the :class:`~engine.errors.ProtocolError` of a fault of the peer (its alert is
        then queued: flush before closing), the :class:`~engine.errors.PeerAlertError` of a
        fatal alert, or :class:`~engine.errors.TLSEOFError` for a transport that ended without
        close_notify. After any of these, LocalProtocolError.
        """
        if self.error is not None:
            raise LocalProtocolError("the connection has ended: %s" % self.error)
        self.bytes_received += len(data)
        head = self._head
        if head is not None and len(head) < _HEAD_LIMIT:
            head += data[:_HEAD_LIMIT - len(head)]
        error: TLSError | None = None
        try:
            events = self.connection.receive_data(data)
        except ProtocolError as exc:
            error = self._in_plain_words(exc)
        except PeerAlertError as exc:
            self.alerts.append(exc.description)
            error = exc
        if error is not None:
            self.error = error
            raise error
        for event in events:
            if isinstance(event, ApplicationData):
                self.plaintext_received += len(event.data)
                self._on_data(event.data)
            elif isinstance(event, HandshakeComplete):
                self.handshake = event
                if self.server_side:
                    self.offered_suites = client_hello_cipher_suites(self._head)
                self._head = None
                resend = self._early_data_resend
                if resend:  # queued for the adapter's flush after this feed
                    self.connection.send_data(resend)
                    self.plaintext_sent += len(resend)
                self._early_data_resend = None
                self._on_handshake(event)
            elif isinstance(event, EarlyDataReceived):
                self.plaintext_received += len(event.data)
                self.early_data_received += len(event.data)
                self._on_data(event.data)
            elif isinstance(event, EarlyDataRejected):
                self._early_data_resend = event.data
            elif isinstance(event, AlertReceived):
                self.alerts.append(event.description)
                if event.description == AlertDescription.close_notify:
                    self.close_notify_received = True
            elif isinstance(event, ConnectionClosed):
                self._on_connection_closed()

    def _on_connection_closed(self) -> None:
        if self.handshake is None:
            error = TLSEOFError("the peer closed the connection during the handshake")
        elif not self.close_notify_received:
            error = TLSEOFError("the peer closed the connection without close_notify: what it "
                                "sent may be truncated (RFC 8446 section 6.1)")
        else:
            self._on_close_notify()
            return
        self.error = error
        raise error

    def _in_plain_words(self, exc: ProtocolError) -> ProtocolError:
        """``exc``, or the same error saying that the peer does not speak TLS when its first
        bytes are not a TLS record header (an HTTP server answering a ClientHello)."""
        head = self._head
        if self.handshake is not None or not head or _tls_record_start(head):
            return exc
        error = type(exc)("the peer does not speak TLS (it sent %s)" % _quote(head), exc.alert)
        error.__dict__.update(exc.__dict__)
        return error

    # --- bytes out ----------------------------------------------------------------------------

    def data_to_send(self) -> bytes:
        """What the connection queued (records, alerts), emptied and counted."""
        out = self.connection.data_to_send()
        self.bytes_sent += len(out)
        return out

    def send(self, data: BytesLike) -> bytes:
        """Queue application data and take what the connection has to write, counted: one
        call per write. LocalProtocolError once our side is closed."""
        connection = self.connection
        connection.send_data(data)
        self.plaintext_sent += len(data)
        out = connection.data_to_send()
        self.bytes_sent += len(out)
        return out

    @property
    def can_send(self) -> bool:
        """The handshake is done, nothing failed, and close() was not called (the peer's
        close_notify does not stop us: section 6.1)."""
        return self.handshake is not None and self.error is None and not self.close_notify_sent

    def close(self) -> None:
        """Queue close_notify (RFC 8446 section 6.1) unless the connection ended already."""
        if self.close_notify_sent:
            return
        self.close_notify_sent = True
        if self.error is None:
            try:
                self.connection.close()
            except TLSError:
                pass

    def key_update(self, request_peer: bool = True) -> None:
        self.connection.key_update(request_peer=request_peer)

    @property
    def peer_verified(self) -> bool:
        """The peer's chain was verified (a client with verify on; a server asking for one)."""
        if self.handshake is None or not self.handshake.peer_chain:
            return False
        if self.server_side:
            return getattr(self.config, "verify_client", "none") != "none"
        return bool(getattr(self.config, "verify", True))


# --- what the handshake agreed ------------------------------------------------------------------


class TLSInfo:
    """What the handshake agreed: engine's names, and the methods of ``ssl.SSLObject``.

    ``engine.aio`` transports give one as ``get_extra_info("ssl_object")``; ``TLSSocket`` has
    the same methods. Before the handshake completes the engine names are None (or empty) and
    ``getpeercert`` raises ValueError, as ssl does.
    """

    def __init__(self, driver: Driver):
        self._driver = driver

    # --- engine's names -----------------------------------------------------------------------

    @property
    def handshake(self) -> HandshakeComplete | None:
        """The HandshakeComplete event, once there is one."""
        return self._driver.handshake

    @property
    def cipher_suite(self) -> str | None:
        handshake = self._driver.handshake
        return handshake.cipher_suite if handshake else None

    @property
    def group(self) -> str | None:
        handshake = self._driver.handshake
        return handshake.group if handshake else None

    @property
    def alpn_protocol(self) -> str | None:
        handshake = self._driver.handshake
        return handshake.alpn_protocol if handshake else None

    @property
    def server_name(self) -> str | None:
        """The name the client asked for (SNI), on both sides."""
        handshake = self._driver.handshake
        return handshake.server_name if handshake else None

    @property
    def signature_scheme(self) -> str | None:
        handshake = self._driver.handshake
        return handshake.signature_scheme if handshake else None

    @property
    def peer_chain(self) -> tuple[x509.Certificate, ...]:
        handshake = self._driver.handshake
        return handshake.peer_chain if handshake else ()

    @property
    def peer_certificate(self) -> x509.Certificate | None:
        """The peer's end-entity certificate, or None (a client that sent none)."""
        chain = self.peer_chain
        return chain[0] if chain else None

    # --- as ssl.SSLObject -----------------------------------------------------------------------

    @property
    def server_side(self) -> bool:
        return self._driver.server_side

    @property
    def server_hostname(self) -> str | None:
        """The name checked in the server's certificate (client side); None on a server."""
        return self._driver.server_hostname

    @property
    def context(self) -> ClientConfig | ServerConfig:
        """The ClientConfig or ServerConfig (what ``ssl`` calls the context)."""
        return self._driver.config

    @property
    def session(self) -> Session | None:
        """The session to resume a later connection with: the latest ticket a client received
        (:class:`engine.tls.Session`), None until one came (and on a server)."""
        return getattr(self._driver.connection, "session", None)

    @property
    def session_reused(self) -> bool:
        """Whether the handshake resumed a session from a ticket (RFC 8446 2.2)."""
        handshake = self._driver.handshake
        return bool(handshake is not None and handshake.resumed)

    def version(self) -> str | None:
        return PROTOCOL_VERSION if self._driver.handshake else None

    def cipher(self) -> tuple[str, str, int] | None:
        """``(cipher suite, protocol, secret bits)``, as ``ssl`` gives it."""
        handshake = self._driver.handshake
        return _cipher_tuple(handshake.cipher_suite) if handshake else None

    def shared_ciphers(self) -> list[tuple[str, str, int]] | None:
        """On a server, the cipher suites both sides support, as ``cipher()`` tuples in our
        order of preference; None on a client, as ``ssl`` has it."""
        offered = self._driver.offered_suites
        if offered is None or self._driver.config is None:
            return None
        names = {SUITE_BY_CODE[code].name for code in offered if code in SUITE_BY_CODE}
        return [_cipher_tuple(name) for name in self._driver.config.cipher_suites
                if name in names]

    def compression(self) -> None:
        return None  # TLS 1.3 has none (RFC 8446 section 4.1.2)

    def selected_alpn_protocol(self) -> str | None:
        return self.alpn_protocol

    def selected_npn_protocol(self) -> None:
        return None

    def pending(self) -> int:
        """Decrypted bytes not yet handed to the application (the asyncio adapter hands them
        over at once)."""
        return 0

    @overload
    def getpeercert(self, binary_form: Literal[False] = ...) -> dict[str, Any] | None: ...
    @overload
    def getpeercert(self, binary_form: Literal[True]) -> bytes | None: ...
    @overload
    def getpeercert(self, binary_form: bool) -> dict[str, Any] | bytes | None: ...

    def getpeercert(self, binary_form: bool = False) -> dict[str, Any] | bytes | None:
        """The peer's certificate: DER bytes with ``binary_form``, else the dict ``ssl`` gives
        (empty when the certificate was not verified); None when the peer sent none."""
        if self._driver.handshake is None:
            raise ValueError("handshake not done yet")
        leaf = self.peer_certificate
        if leaf is None:
            return None
        if binary_form:
            return leaf.public_bytes(Encoding.DER)
        if not self._driver.peer_verified:
            return {}
        from ._peercert import certificate_dict

        return certificate_dict(leaf)

    def export_keying_material(self, label: bytes | str, context: bytes = b"",
                               length: int = 32) -> bytes:
        """TLS-Exporter (RFC 8446 section 7.5)."""
        return self._driver.connection.export_keying_material(label, context, length)


def _cipher_tuple(name: str) -> tuple[str, str, int]:
    return (name, PROTOCOL_VERSION, SUITE_BY_NAME[name].key_size * 8)


# --- reading the first bytes --------------------------------------------------------------------


def _tls_record_start(head) -> bool:
    """Whether ``head`` begins as a TLS record does: a known content type, then 0x03 (the
    major version of legacy_record_version, RFC 8446 section 5.1)."""
    if head[0] not in _CONTENT_TYPES:
        return False
    return len(head) < 2 or head[1] == 3


def _quote(head) -> str:
    """The first line of what the peer sent, quoted, or its first bytes if they are not text."""
    data = bytes(head)
    line = data.split(b"\n", 1)[0].rstrip(b"\r")[:60]
    if line and all(32 <= byte < 127 for byte in line):
        return "'%s%s'" % (line.decode("ascii"), " ..." if len(line) < len(data) else "")
    return repr(data[:16]) + (" ..." if len(data) > 16 else "")


def client_hello_cipher_suites(head) -> tuple | None:
    """The cipher_suites of the ClientHello that ``head`` begins with (RFC 8446 section 4.1.2),
    read across its plaintext handshake records; None when they cannot be read."""
    if not head:
        return None
    body = bytearray()
    pos = 0
    while pos + 5 <= len(head) and head[pos] == ContentType.handshake:
        length = int.from_bytes(head[pos + 3:pos + 5], "big")
        body += head[pos + 5:pos + 5 + length]
        pos += 5 + length
    # Handshake header (4), legacy_version (2), random (32), legacy_session_id<0..32>.
    at = 4 + 2 + 32
    if len(body) <= at or body[0] != HandshakeType.client_hello:
        return None
    at += 1 + body[at]
    if len(body) < at + 2:
        return None
    size = int.from_bytes(body[at:at + 2], "big")
    at += 2
    if len(body) < at + size:
        return None
    return tuple(int.from_bytes(body[i:i + 2], "big") for i in range(at, at + size - 1, 2))


# --- reporting ----------------------------------------------------------------------------------


def report_failure(on_error: Callable | None, address, exc: BaseException, *,
                   in_handshake: bool) -> None:
    """Tell ``on_error(address, exc)`` that a server-side connection failed, or log it.

    Without ``on_error``: a failed handshake is a WARNING of the logger ``engine`` (shown by
    default), a transport or TLS error after it INFO, and any other exception (a handler's
    defect) an ERROR with its traceback.
    """
    if on_error is not None:
        try:
            on_error(address, exc)
        except Exception:
            log.exception("on_error raised")
        return
    where = format_address(address)
    if in_handshake:
        log.warning("TLS handshake with %s failed: %s: %s", where, type(exc).__name__, exc)
    elif isinstance(exc, OSError):
        log.info("TLS connection with %s ended: %s: %s", where, type(exc).__name__, exc)
    else:
        log.error("TLS connection with %s: the handler raised %s", where, type(exc).__name__,
                  exc_info=exc)
