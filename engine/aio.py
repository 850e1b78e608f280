"""TLS for asyncio: :func:`open_connection` and :func:`start_server`, as asyncio's own.

A :class:`TLSProtocol` sits on the TCP transport and feeds the sans-I/O connection of
:mod:`engine.tls`; once the handshake is complete it hands a :class:`TLSTransport` to the
application's protocol (a StreamReaderProtocol for the stream functions). What the connection
queues is written right after each call that may queue it, so a fatal alert (RFC 8446 section
6.2) leaves before the transport closes and a KeyUpdate from the peer is answered at once.

``writer.get_extra_info("tls")`` is the HandshakeComplete event; ``"cipher_suite"``,
``"group"``, ``"alpn_protocol"``, ``"server_name"``, ``"signature_scheme"`` and ``"peer_chain"``
are its fields; ``"sslcontext"`` is the ClientConfig or ServerConfig of the connection.
"""

from __future__ import annotations

import asyncio
import logging

from .errors import PeerAlertError, ProtocolError, TLSError

__all__ = ["TLSProtocol", "TLSTransport", "open_connection", "start_server"]

log = logging.getLogger(__name__)

_LIMIT = 2 ** 16
_HANDSHAKE_FIELDS = ("cipher_suite", "group", "alpn_protocol", "server_name",
                     "signature_scheme", "peer_chain")


class TLSTransport(asyncio.Transport):
    """What the application writes to: plaintext in, TLS records out."""

    def __init__(self, tls_protocol: TLSProtocol):
        super().__init__()
        self._tls = tls_protocol

    def get_extra_info(self, name, default=None):
        return self._tls.get_extra_info(name, default)

    def write(self, data) -> None:
        self._tls.write_plaintext(bytes(data))

    def writelines(self, list_of_data) -> None:
        self.write(b"".join(bytes(d) for d in list_of_data))

    def can_write_eof(self) -> bool:
        return False

    def write_eof(self) -> None:
        raise NotImplementedError("TLS closes both directions with close_notify; use close()")

    def key_update(self, request_peer: bool = True) -> None:
        """Send a KeyUpdate (RFC 8446 section 4.6.3)."""
        self._tls.key_update(request_peer)

    def is_closing(self) -> bool:
        return self._tls.is_closing()

    def close(self) -> None:
        self._tls.close()

    def abort(self) -> None:
        self._tls.abort()

    def set_protocol(self, protocol) -> None:
        self._tls.app_protocol = protocol

    def get_protocol(self):
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

    def set_write_buffer_limits(self, high=None, low=None) -> None:
        if self._tls.raw_transport is not None:
            self._tls.raw_transport.set_write_buffer_limits(high, low)

    def get_write_buffer_size(self) -> int:
        raw = self._tls.raw_transport
        return raw.get_write_buffer_size() if raw is not None else 0

    def get_write_buffer_limits(self):
        raw = self._tls.raw_transport
        return raw.get_write_buffer_limits() if raw is not None else (0, 0)


class TLSProtocol(asyncio.Protocol):
    """The protocol on the TCP transport: runs the handshake, then relays to ``app_protocol``.

    ``handshake_done`` (a future) gets None when the handshake completes or the exception that
    ended it; ``app_protocol.connection_made`` is called only after a complete handshake.
    """

    def __init__(self, connection, app_protocol: asyncio.BaseProtocol, *,
                 handshake_done: asyncio.Future | None = None,
                 handshake_timeout: float | None = None):
        self.connection = connection
        self.app_protocol = app_protocol
        self.handshake = None
        self.raw_transport: asyncio.Transport | None = None
        self.tls_transport = TLSTransport(self)
        self._handshake_done = handshake_done
        self._handshake_timeout = handshake_timeout
        self._timer = None
        self._closing = False
        self._error: BaseException | None = None
        self._app_connected = False
        self._extra: dict = {}
        self.bytes_sent = 0
        self.bytes_received = 0

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
        self.bytes_received += len(data)
        self._feed(data)

    def eof_received(self):
        self._feed(b"")
        return False  # TLS closes both directions: let the transport close

    def connection_lost(self, exc) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._closing = True
        error = self._error or exc
        if self.handshake is None:
            self._finish_handshake(error or ConnectionAbortedError(
                "the peer closed the connection during the handshake"))
        if self._app_connected:
            self._app_connected = False
            self.app_protocol.connection_lost(error)
        self.raw_transport = None

    def pause_writing(self) -> None:
        if self._app_connected:
            self.app_protocol.pause_writing()

    def resume_writing(self) -> None:
        if self._app_connected:
            self.app_protocol.resume_writing()

    # --- for the TLS transport ----------------------------------------------------------------

    def get_extra_info(self, name, default=None):
        if name == "tls":
            return self.handshake
        if name in _HANDSHAKE_FIELDS:
            return getattr(self.handshake, name, default) if self.handshake else default
        if name == "tls_connection":
            return self.connection
        if name == "sslcontext":  # as asyncio's SSL transports: says "this is TLS" to ASGI servers
            return self.connection._config
        if self.raw_transport is not None:
            return self.raw_transport.get_extra_info(name, default)
        value = self._extra.get(name)
        return default if value is None else value

    def write_plaintext(self, data: bytes) -> None:
        if self._closing or not data:
            return
        self.connection.send_data(data)
        self._flush()

    def key_update(self, request_peer: bool) -> None:
        if self._closing:
            raise TLSError("the TLS connection is closing")
        self.connection.key_update(request_peer=request_peer)
        self._flush()

    def is_closing(self) -> bool:
        return self._closing or self.raw_transport is None or self.raw_transport.is_closing()

    def close(self) -> None:
        """Send close_notify and close the TCP transport once its buffer is written."""
        if self._closing:
            return
        self._closing = True
        try:
            self.connection.close()
            self._flush()
        except TLSError:
            pass
        if self.raw_transport is not None:
            self.raw_transport.close()

    def abort(self) -> None:
        self._closing = True
        if self.raw_transport is not None:
            self.raw_transport.abort()

    # --- plumbing -----------------------------------------------------------------------------

    def _flush(self) -> None:
        out = self.connection.data_to_send()
        if out and self.raw_transport is not None and not self.raw_transport.is_closing():
            self.bytes_sent += len(out)
            self.raw_transport.write(out)

    def _feed(self, data: bytes) -> None:
        if self.raw_transport is None:
            return
        try:
            events = self.connection.receive_data(data)
        except ProtocolError as exc:
            self._flush()  # the alert for this fault
            self._fail(exc)
            return
        except PeerAlertError as exc:
            self._fail(exc)
            return
        self._flush()
        self._handle(events)

    def _handle(self, events) -> None:
        from .tls import ApplicationData, ConnectionClosed, HandshakeComplete

        for event in events:
            if isinstance(event, HandshakeComplete):
                self.handshake = event
                if self._timer is not None:
                    self._timer.cancel()
                    self._timer = None
                self._app_connected = True
                self.app_protocol.connection_made(self.tls_transport)
                self._finish_handshake(None)
            elif isinstance(event, ApplicationData):
                if self._app_connected:
                    self.app_protocol.data_received(event.data)
            elif isinstance(event, ConnectionClosed):
                # close_notify received; ours is queued in reply (RFC 8446 section 6.1).
                self._flush()
                if self._app_connected:
                    self.app_protocol.eof_received()
                self._closing = True
                if self.raw_transport is not None:
                    self.raw_transport.close()
                return

    def _fail(self, exc: BaseException) -> None:
        self._error = exc
        self._closing = True
        self._finish_handshake(exc)
        if self.raw_transport is not None:
            self.raw_transport.close()  # after the queued alert is written

    def _finish_handshake(self, exc: BaseException | None) -> None:
        waiter = self._handshake_done
        if waiter is not None and not waiter.done():
            if exc is None:
                waiter.set_result(None)
            else:
                waiter.set_exception(exc)

    def _handshake_timed_out(self) -> None:
        self._timer = None
        if self.handshake is None:
            self._fail(TimeoutError("the TLS handshake did not complete in time"))


async def open_connection(host: str, port: int, config, *, server_name: str | None = None,
                          limit: int = _LIMIT, handshake_timeout: float | None = 60.0,
                          **kwargs):
    """Connect, run the TLS handshake and return ``(StreamReader, StreamWriter)``.

    The name checked in the certificate (and sent as SNI) is ``server_name``, else
    ``config.server_name``, else ``host``. Raises the ProtocolError or PeerAlertError that
    ended a failed handshake. Other keyword arguments go to ``loop.create_connection``.
    """
    from .tls import ClientConnection

    loop = asyncio.get_running_loop()
    name = server_name or getattr(config, "server_name", None) or host.rstrip(".")
    reader = asyncio.StreamReader(limit=limit, loop=loop)
    app_protocol = asyncio.StreamReaderProtocol(reader, loop=loop)
    done = loop.create_future()
    connection = ClientConnection(config, server_name=name)
    transport, protocol = await loop.create_connection(
        lambda: TLSProtocol(connection, app_protocol, handshake_done=done), host, port,
        **kwargs)
    try:
        if handshake_timeout is None:
            await done
        else:
            await asyncio.wait_for(done, handshake_timeout)
    except BaseException:
        transport.close()
        raise
    writer = asyncio.StreamWriter(protocol.tls_transport, app_protocol, reader, loop)
    return reader, writer


async def start_server(client_connected_cb, host=None, port=None, config=None, *,
                       limit: int = _LIMIT, handshake_timeout: float | None = 60.0,
                       on_error=None, **kwargs) -> asyncio.AbstractServer:
    """Start a TLS server; ``client_connected_cb(reader, writer)`` runs after each handshake.

    A failed handshake closes that connection (its alert sent) and is passed to
    ``on_error(peername, exception)`` if given, else logged at INFO level. Other keyword
    arguments go to ``loop.create_server``.
    """
    from .tls import ServerConnection

    if config is None:
        raise TypeError("start_server() needs a ServerConfig")
    loop = asyncio.get_running_loop()

    def factory():
        reader = asyncio.StreamReader(limit=limit, loop=loop)
        app_protocol = asyncio.StreamReaderProtocol(reader, client_connected_cb, loop=loop)
        done = loop.create_future()
        protocol = TLSProtocol(ServerConnection(config), app_protocol, handshake_done=done,
                               handshake_timeout=handshake_timeout)
        done.add_done_callback(lambda fut: _report(fut, protocol, on_error))
        return protocol

    return await loop.create_server(factory, host, port, **kwargs)


def _report(future: asyncio.Future, protocol: TLSProtocol, on_error) -> None:
    if future.cancelled() or future.exception() is None:
        return
    exc = future.exception()
    peer = protocol.get_extra_info("peername")
    if on_error is not None:
        try:
            on_error(peer, exc)
        except Exception:
            log.exception("on_error raised")
    else:
        log.info("TLS connection from %s failed: %s: %s", peer, type(exc).__name__, exc)
