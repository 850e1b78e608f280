"""TLS for asyncio, in asyncio's own shapes.

- streams: :func:`open_connection` and :func:`start_server`, as ``asyncio.open_connection`` and
  ``asyncio.start_server``;
- protocols: :func:`create_connection` and :func:`create_server`, as the event loop's methods
  of those names with ``ssl=``, for protocol-based code (an HTTP server's protocol, say);
- STARTTLS: :func:`start_tls`, as ``loop.start_tls``, upgrades a connected transport.

A :class:`TLSProtocol` sits on the TCP transport and drives the sans-I/O connection of
:mod:`engine.tls` through :mod:`engine._driver`; once the handshake is complete it hands a
:class:`TLSTransport` to the application's protocol. What the connection queues is written right
after each call that may queue it, so a fatal alert (RFC 8446 section 6.2) leaves before the
transport closes and a KeyUpdate from the peer is answered at once.

``get_extra_info`` answers what asyncio's ssl transports answer: ``"ssl_object"`` (an object
with ``version()``, ``cipher()``, ``getpeercert()``, ``selected_alpn_protocol()``... of
``ssl.SSLObject``), ``"peercert"``, ``"cipher"``, ``"compression"``, ``"sslcontext"`` (the
ClientConfig or ServerConfig), ``"peername"``, ``"sockname"`` and ``"socket"``; and engine's own:
``"tls"`` (the HandshakeComplete event), its fields ``"cipher_suite"``, ``"group"``,
``"alpn_protocol"``, ``"server_name"``, ``"signature_scheme"``, ``"peer_chain"``, and
``"tls_connection"``.

Closing (RFC 8446 section 6.1): the peer's close_notify reaches the protocol as
``eof_received()``; if that returns true, the transport stays open for writing (the streams do
so: a reply may follow the request's end) until ``close()`` sends our close_notify.
``write_eof()`` sends close_notify and keeps reading. A transport that ends without
close_notify reaches ``connection_lost`` as :class:`~engine.errors.TLSEOFError`.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Iterable, Sequence, TypeVar, cast

from ._buffers import BytesLike
from ._driver import (
    ALERT_LINGER, Driver, TLSInfo, check_config, client_connection, report_failure,
    server_connection,
)
from .errors import ProtocolError, TLSEOFError, TLSError
from .tls import ClientConfig, ServerConfig

if TYPE_CHECKING:
    from .tls.session import Session

_Protocol = TypeVar("_Protocol", bound=asyncio.BaseProtocol)
#: ``on_error(peername, exception)``: where a failed handshake is reported.
ErrorHandler = Callable[[Any, BaseException], object]

__all__ = ["TLSProtocol", "TLSTransport", "open_connection", "start_server",
           "create_connection", "create_server", "start_tls"]

_LIMIT = 2 ** 16
_HANDSHAKE_TIMEOUT = 60.0
_HANDSHAKE_FIELDS = ("cipher_suite", "group", "alpn_protocol", "server_name",
                     "signature_scheme", "peer_chain")


class TLSTransport(asyncio.Transport):
    """What the application writes to: plaintext in, TLS records out."""

    def __init__(self, tls_protocol: TLSProtocol):
        super().__init__()
        self._tls = tls_protocol

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._tls.get_extra_info(name, default)

    def write(self, data: BytesLike) -> None:
        self._tls.write_plaintext(bytes(data))

    def writelines(self, list_of_data: Iterable[BytesLike]) -> None:
        self.write(b"".join(bytes(d) for d in list_of_data))

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        """Send close_notify: our direction ends, the peer's stays open (section 6.1)."""
        self._tls.write_eof()

    def key_update(self, request_peer: bool = True) -> None:
        """Send a KeyUpdate (RFC 8446 section 4.6.3)."""
        self._tls.key_update(request_peer)

    def is_closing(self) -> bool:
        return self._tls.is_closing()

    def close(self) -> None:
        self._tls.close()

    def abort(self) -> None:
        self._tls.abort()

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._tls.app_protocol = cast(asyncio.Protocol, protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._tls.app_protocol

    def is_reading(self) -> bool:
        raw = self._tls.raw_transport
        return raw is not None and raw.is_reading()

    def pause_reading(self) -> None:
        if self._tls.raw_transport is not None:
            self._tls.raw_transport.pause_reading()

    def resume_reading(self) -> None:
        if self._tls.raw_transport is not None:
            self._tls.raw_transport.resume_reading()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        if self._tls.raw_transport is not None:
            self._tls.raw_transport.set_write_buffer_limits(high, low)

    def get_write_buffer_size(self) -> int:
        raw = self._tls.raw_transport
        return raw.get_write_buffer_size() if raw is not None else 0

    def get_write_buffer_limits(self) -> tuple[int, int]:
        raw = self._tls.raw_transport
        return raw.get_write_buffer_limits() if raw is not None else (0, 0)


class TLSProtocol(asyncio.Protocol):
    """The protocol on the TCP transport: runs the handshake, then relays to ``app_protocol``.

    ``handshake_done`` (a future) gets None when the handshake completes or the exception that
    ended it, ``handshake_timeout`` seconds after the TCP connection at most (TimeoutError);
    ``app_protocol.connection_made`` is called after a complete handshake (not at all with
    ``call_connection_made=False``: :func:`start_tls` hands over a protocol already connected).
    """

    def __init__(self, connection, app_protocol: asyncio.BaseProtocol, *,
                 handshake_done: asyncio.Future | None = None,
                 handshake_timeout: float | None = None, config=None,
                 server_hostname: str | None = None, call_connection_made: bool = True):
        # a streaming protocol: it is given data_received and eof_received
        self.app_protocol = cast(asyncio.Protocol, app_protocol)
        self.raw_transport: asyncio.Transport | None = None
        self.tls_transport = TLSTransport(self)
        self._driver = Driver(connection, config, server_hostname=server_hostname,
                              on_handshake=self._on_handshake, on_data=self._on_data,
                              on_close_notify=self._on_close_notify)
        self.tls_info = TLSInfo(self._driver)
        self._handshake_done = handshake_done
        self._handshake_timeout = handshake_timeout
        self._call_connection_made = call_connection_made
        self._timer: asyncio.TimerHandle | None = None
        self._closing = False
        self._draining = False  # our fatal alert is out: input is read and dropped
        self._app_connected = False
        self._early_data: bytearray | None = None  # accepted 0-RTT data before connection_made
        self._extra: dict = {}

    @property
    def connection(self):
        """The sans-I/O connection (engine.tls ClientConnection or ServerConnection)."""
        return self._driver.connection

    @property
    def handshake(self):
        return self._driver.handshake

    @property
    def bytes_sent(self) -> int:
        return self._driver.bytes_sent

    @property
    def bytes_received(self) -> int:
        return self._driver.bytes_received

    # --- from the TCP transport ---------------------------------------------------------------

    def connection_made(self, transport) -> None:
        self.raw_transport = transport
        self._extra = {name: transport.get_extra_info(name)
                       for name in ("peername", "sockname", "socket")}
        if self._handshake_timeout is not None:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(self._handshake_timeout, self._handshake_timed_out)
        self._flush()

    def data_received(self, data: bytes) -> None:
        if self._draining or self.raw_transport is None or self._driver.error is not None:
            return  # the connection has ended: what still comes is dropped
        self._feed(data)

    def eof_received(self):
        if self._draining or self.raw_transport is None or self._driver.error is not None:
            return False
        self._feed(b"")
        # True keeps the TCP transport open for the reply we may still write (section 6.1).
        return not self._closing

    def connection_lost(self, exc) -> None:
        self._cancel_timer()
        self._closing = True
        error = self._driver.error or exc
        if self._driver.handshake is None:
            self._finish_handshake(error or TLSEOFError(
                "the peer closed the connection during the handshake"))
        if self._app_connected:
            self._app_connected = False
            self.app_protocol.connection_lost(cast("Exception | None", error))
        self.raw_transport = None

    def pause_writing(self) -> None:
        if self._app_connected:
            self.app_protocol.pause_writing()

    def resume_writing(self) -> None:
        if self._app_connected:
            self.app_protocol.resume_writing()

    # --- for the TLS transport ----------------------------------------------------------------

    def get_extra_info(self, name, default=None):
        info = self.tls_info
        if name == "ssl_object":
            return info
        if name == "sslcontext":
            return self._driver.config
        if name == "tls_connection":
            return self._driver.connection
        if name in ("peercert", "cipher", "compression", "tls") or name in _HANDSHAKE_FIELDS:
            if self._driver.handshake is None:
                return default
            if name == "peercert":
                return info.getpeercert()
            if name == "cipher":
                return info.cipher()
            if name == "compression":
                return info.compression()
            if name == "tls":
                return self._driver.handshake
            return getattr(info, name)
        if self.raw_transport is not None:
            return self.raw_transport.get_extra_info(name, default)
        value = self._extra.get(name)
        return default if value is None else value

    def write_plaintext(self, data: bytes) -> None:
        if self._closing or not data:
            return  # as asyncio's transports: writes after close() go nowhere
        if self._driver.close_notify_sent:
            raise RuntimeError("write() after write_eof()")
        self._write(self._driver.send(data))

    def write_eof(self) -> None:
        if self._closing or self._driver.close_notify_sent:
            return
        self._driver.close()
        self._flush()
        if self._driver.close_notify_received:  # both directions are closed now
            self.close()

    def key_update(self, request_peer: bool) -> None:
        if self._closing:
            raise TLSError("the TLS connection is closing")
        self._driver.key_update(request_peer=request_peer)
        self._flush()

    def is_closing(self) -> bool:
        return self._closing or self.raw_transport is None or self.raw_transport.is_closing()

    def close(self) -> None:
        """Send close_notify and close the TCP transport once its buffer is written."""
        if self._closing:
            return
        self._closing = True
        self._driver.close()
        self._flush()
        if self.raw_transport is not None:
            self.raw_transport.close()

    def abort(self) -> None:
        self._closing = True
        if self.raw_transport is not None:
            self.raw_transport.abort()

    # --- plumbing -----------------------------------------------------------------------------

    def _flush(self) -> None:
        self._write(self._driver.data_to_send())

    def _write(self, out: bytes) -> None:
        """Records to the TCP transport, unless it is gone or closing."""
        raw = self.raw_transport
        if out and raw is not None and not raw.is_closing():
            raw.write(out)

    def _feed(self, data: bytes) -> None:
        try:
            self._driver.feed(data)
        except ProtocolError as exc:
            self._flush()  # the alert for this fault
            self._fail(exc, linger=True)
            return
        except TLSError as exc:  # the peer's fatal alert, or the transport ended early
            self._fail(exc)
            return
        self._flush()

    def _on_handshake(self, event) -> None:
        self._cancel_timer()
        self._app_connected = True
        if self._call_connection_made:
            self.app_protocol.connection_made(self.tls_transport)
        early, self._early_data = self._early_data, None
        if early:  # 0-RTT data that came before the handshake completed (RFC 8446 2.3)
            self.app_protocol.data_received(bytes(early))
        self._finish_handshake(None)

    def _on_data(self, data: bytes) -> None:
        if self._app_connected:
            self.app_protocol.data_received(data)
        else:  # accepted early data: the application gets it first, once it is connected
            if self._early_data is None:
                self._early_data = bytearray()
            self._early_data += data

    def _on_close_notify(self) -> None:
        """The peer's direction is closed; ours stays open if the application wants it."""
        keep_open = self.app_protocol.eof_received() if self._app_connected else False
        if not keep_open or self._driver.close_notify_sent:
            self.close()

    def _fail(self, exc: BaseException, linger: bool = False) -> None:
        if self._driver.error is None:
            self._driver.error = exc
        self._closing = True
        self._cancel_timer()
        self._finish_handshake(exc)
        raw = self.raw_transport
        if raw is None:
            return
        if linger and raw.can_write_eof():
            # A transport closed with input unread makes the kernel answer with RST, which can
            # destroy our alert before the peer reads it: end our side after the alert, read
            # and drop input until the peer closes or ALERT_LINGER seconds pass, then close.
            self._draining = True
            raw.write_eof()
            try:
                raw.resume_reading()
            except (RuntimeError, AttributeError):
                pass
            asyncio.get_running_loop().call_later(ALERT_LINGER, raw.close)
        else:
            raw.close()

    def _give_up(self) -> None:
        """After a failed or cancelled handshake: close, unless the transport lingers for our
        alert to be read (it closes itself)."""
        if self._draining:
            return
        self._closing = True
        if self.raw_transport is not None:
            self.raw_transport.close()

    def _finish_handshake(self, exc: BaseException | None) -> None:
        waiter = self._handshake_done
        if waiter is not None and not waiter.done():
            if exc is None:
                waiter.set_result(None)
            else:
                waiter.set_exception(exc)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _handshake_timed_out(self) -> None:
        self._timer = None
        if self._driver.handshake is None and self._handshake_timeout is not None:
            self._fail(TimeoutError("the TLS handshake did not complete in %g s"
                                    % self._handshake_timeout))


class _StreamProtocol(asyncio.StreamReaderProtocol):
    """A StreamReaderProtocol that keeps writing after the peer's close_notify.

    asyncio's own answers False to ``eof_received`` over TLS (its ssl transport cannot
    half-close); TLS 1.3 closes one direction at a time (RFC 8446 section 6.1), so the reader
    sees its end and the writer stays open until closed.
    """

    def eof_received(self):
        super().eof_received()
        return True


# --- protocols ----------------------------------------------------------------------------------


async def create_connection(protocol_factory: Callable[[], _Protocol], host: str, port: int,
                            config: ClientConfig, *, server_name: str | None = None,
                            server_hostname: str | None = None,
                            handshake_timeout: float | None = _HANDSHAKE_TIMEOUT,
                            session: Session | None = None, early_data: bytes | None = None,
                            **kwargs: Any) -> tuple[TLSTransport, _Protocol]:
    """Connect, run the TLS handshake and return ``(transport, protocol)``, as
    ``loop.create_connection(..., ssl=...)``: ``protocol`` (from ``protocol_factory()``) gets
    ``connection_made`` once the handshake is complete.

    The name checked in the certificate (and sent as SNI) is ``server_name`` (or
    ``server_hostname``), else ``config.server_name``, else ``host``. ``session`` and
    ``early_data`` resume a session and send 0-RTT data, as :func:`engine.connect` does.
    Raises the ProtocolError or PeerAlertError that ended a failed handshake, TimeoutError
    after ``handshake_timeout`` seconds. Other keyword arguments go to
    ``loop.create_connection``.
    """
    check_config(config, ClientConfig, "create_connection()")
    loop = asyncio.get_running_loop()
    connection, name = client_connection(config, host, server_name or server_hostname,
                                         session=session, early_data=early_data)
    app_protocol = protocol_factory()
    done = loop.create_future()
    _, protocol = await loop.create_connection(
        lambda: TLSProtocol(connection, app_protocol, handshake_done=done,
                            handshake_timeout=handshake_timeout, config=config,
                            server_hostname=name),
        host, port, **kwargs)
    try:
        await done
    except BaseException:
        protocol._give_up()
        raise
    return protocol.tls_transport, app_protocol


async def create_server(protocol_factory: Callable[[], asyncio.BaseProtocol],
                        host: str | Sequence[str] | None = None, port: int | None = None,
                        config: ServerConfig | None = None, *,
                        handshake_timeout: float | None = _HANDSHAKE_TIMEOUT,
                        on_error: ErrorHandler | None = None,
                        **kwargs: Any) -> asyncio.Server:
    """Start a TLS server, as ``loop.create_server(..., ssl=...)``: each connection's protocol
    (from ``protocol_factory()``) gets ``connection_made`` once the handshake is complete.

    A failed handshake closes that connection (its alert sent) and is passed to
    ``on_error(peername, exception)`` if given, else logged as a WARNING of the logger
    ``engine``. Other keyword arguments go to ``loop.create_server``.
    """
    if config is None:
        raise TypeError("create_server() needs a ServerConfig")
    check_config(config, ServerConfig, "create_server()")
    loop = asyncio.get_running_loop()

    def factory():
        done = loop.create_future()
        protocol = TLSProtocol(server_connection(config), protocol_factory(),
                               handshake_done=done, handshake_timeout=handshake_timeout,
                               config=config)
        done.add_done_callback(lambda fut: _report(fut, protocol, on_error))
        return protocol

    return await loop.create_server(factory, host, port, **kwargs)


async def start_tls(transport: asyncio.BaseTransport, protocol: asyncio.BaseProtocol,
                    config: ClientConfig | ServerConfig, *,
                    server_side: bool = False, server_hostname: str | None = None,
                    handshake_timeout: float | None = _HANDSHAKE_TIMEOUT) -> TLSTransport:
    """Upgrade a connected ``transport`` to TLS (STARTTLS), as ``loop.start_tls``: run the
    handshake and return the transport that ``protocol`` writes to from now on; what arrives
    is decrypted into ``protocol.data_received``.

    ``config`` is a ServerConfig with ``server_side=True``, else a ClientConfig, which checks
    the server's certificate for ``server_hostname`` (or ``config.server_name``).
    """
    kind = ServerConfig if server_side else ClientConfig
    check_config(config, kind, "start_tls(server_side=%s)" % server_side)
    if server_side:
        connection = server_connection(config)
    else:
        assert isinstance(config, ClientConfig)  # check_config said so
        if config.verify and not (server_hostname or config.server_name):
            raise ValueError("start_tls() needs server_hostname (or config.server_name) to "
                             "check the server's certificate")
        connection, server_hostname = client_connection(config, None, server_hostname)
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    tls_protocol = TLSProtocol(connection, protocol, handshake_done=done,
                               handshake_timeout=handshake_timeout, config=config,
                               server_hostname=server_hostname, call_connection_made=False)
    reading = cast(asyncio.ReadTransport, transport)  # a connected stream, as loop.start_tls's
    reading.pause_reading()  # nothing reaches the TLS protocol before connection_made
    transport.set_protocol(tls_protocol)
    made = loop.call_soon(tls_protocol.connection_made, transport)
    resumed = loop.call_soon(reading.resume_reading)
    try:
        await done
    except BaseException:
        made.cancel()
        resumed.cancel()
        if tls_protocol.raw_transport is None:
            transport.close()
        else:
            tls_protocol._give_up()
        raise
    return tls_protocol.tls_transport


# --- streams ------------------------------------------------------------------------------------


async def open_connection(host: str, port: int, config: ClientConfig, *,
                          server_name: str | None = None, server_hostname: str | None = None,
                          limit: int = _LIMIT, handshake_timeout: float | None = _HANDSHAKE_TIMEOUT,
                          session: Session | None = None, early_data: bytes | None = None,
                          **kwargs: Any) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Connect, run the TLS handshake and return ``(StreamReader, StreamWriter)``.

    As :func:`create_connection`: ``server_name`` (or ``server_hostname``, as asyncio calls it)
    else ``config.server_name`` else ``host`` is the name checked. Other keyword arguments go to
    ``loop.create_connection``.
    """
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=limit, loop=loop)
    protocol = _StreamProtocol(reader, loop=loop)
    transport, _ = await create_connection(
        lambda: protocol, host, port, config, server_name=server_name,
        server_hostname=server_hostname, handshake_timeout=handshake_timeout, session=session,
        early_data=early_data, **kwargs)
    writer = asyncio.StreamWriter(transport, protocol, reader, loop)
    return reader, writer


async def start_server(client_connected_cb: Callable[[asyncio.StreamReader, asyncio.StreamWriter],
                                               Awaitable[None] | None],
                       host: str | Sequence[str] | None = None, port: int | None = None,
                       config: ServerConfig | None = None, *, limit: int = _LIMIT,
                       handshake_timeout: float | None = _HANDSHAKE_TIMEOUT,
                       on_error: ErrorHandler | None = None,
                       **kwargs: Any) -> asyncio.Server:
    """Start a TLS server; ``client_connected_cb(reader, writer)`` runs after each handshake.

    Failed handshakes are reported as :func:`create_server` says. Other keyword arguments go to
    ``loop.create_server``.
    """
    if config is None:
        raise TypeError("start_server() needs a ServerConfig")
    check_config(config, ServerConfig, "start_server()")
    loop = asyncio.get_running_loop()

    def factory():
        reader = asyncio.StreamReader(limit=limit, loop=loop)
        return _StreamProtocol(reader, client_connected_cb, loop=loop)

    return await create_server(factory, host, port, config,
                               handshake_timeout=handshake_timeout, on_error=on_error, **kwargs)


def _report(future: asyncio.Future, protocol: TLSProtocol, on_error) -> None:
    if future.cancelled():
        return
    error = future.exception()
    if error is not None:
        report_failure(on_error, protocol.get_extra_info("peername"), error, in_handshake=True)
