"""TLS over blocking sockets: :func:`connect` for a client, :func:`serve` for a threaded server.

The protocol itself lives in :mod:`engine.tls`, which never touches a socket; this module moves
its bytes. Every call that feeds the connection sends what it queued right after, so a fatal
alert (RFC 8446 section 6.2) reaches the peer before the socket is closed, and a KeyUpdate from
the peer is answered (section 4.6.3) as soon as it is read.
"""

from __future__ import annotations

import logging
import socket
import threading
from typing import Callable

from .errors import PeerAlertError, ProtocolError, TLSError

__all__ = ["TLSSocket", "Server", "connect", "serve"]

log = logging.getLogger(__name__)

_READ_SIZE = 65536
_WRITE_CHUNK = 65536
_CLOSE_WAIT = 2.0  # seconds close() waits for another thread's write before closing anyway


class TLSSocket:
    """A TLS 1.3 connection over a connected socket, with a socket-like interface.

    ``sendall``, ``recv`` and ``close`` behave as on a plain socket; ``recv`` returns ``b""``
    once the peer has sent close_notify (or closed the transport). One thread may read while
    another writes: the connection state is locked only around the sans-I/O calls, and what a
    reader has to send (a KeyUpdate answer, an alert) goes out through whichever thread is
    writing, so a blocked write never stops reading. Byte counters tell plaintext from what
    crossed the wire: ``bytes_sent`` and ``bytes_received`` count every byte of every record,
    handshake included.
    """

    def __init__(self, sock: socket.socket, connection, *, server_hostname: str | None = None):
        self._sock = sock
        self._conn = connection
        self._lock = threading.RLock()  # the connection state and the outbox
        self._send_lock = threading.Lock()  # one thread writing to the socket at a time
        self._read_lock = threading.Lock()  # one reader at a time
        self._outbox = bytearray()  # records produced, not yet written
        self._incoming = bytearray()
        self._eof = False
        self._closed = False
        self.server_hostname = server_hostname
        self.handshake = None  # the HandshakeComplete event, once there is one
        self.alerts: list = []  # AlertDescription values the peer sent (close_notify included)
        self.bytes_sent = 0
        self.bytes_received = 0
        self.plaintext_sent = 0
        self.plaintext_received = 0

    # --- what the handshake agreed ------------------------------------------------------------

    @property
    def connection(self):
        """The sans-I/O connection underneath (engine.tls ClientConnection or ServerConnection)."""
        return self._conn

    @property
    def cipher_suite(self) -> str | None:
        return self.handshake.cipher_suite if self.handshake else None

    @property
    def group(self) -> str | None:
        return self.handshake.group if self.handshake else None

    @property
    def alpn_protocol(self) -> str | None:
        return self.handshake.alpn_protocol if self.handshake else None

    @property
    def server_name(self) -> str | None:
        return self.handshake.server_name if self.handshake else None

    @property
    def signature_scheme(self) -> str | None:
        return self.handshake.signature_scheme if self.handshake else None

    @property
    def peer_chain(self) -> tuple:
        return self.handshake.peer_chain if self.handshake else ()

    @property
    def peer_certificate(self):
        """The peer's end-entity certificate, or None (a client that sent none)."""
        chain = self.peer_chain
        return chain[0] if chain else None

    # --- socket-like interface --------------------------------------------------------------

    def fileno(self) -> int:
        return self._sock.fileno()

    def getpeername(self):
        return self._sock.getpeername()

    def getsockname(self):
        return self._sock.getsockname()

    def settimeout(self, timeout: float | None) -> None:
        self._sock.settimeout(timeout)

    def gettimeout(self) -> float | None:
        return self._sock.gettimeout()

    @property
    def closed(self) -> bool:
        return self._closed

    def do_handshake(self) -> None:
        """Run the handshake to its end; raise the ProtocolError or PeerAlertError that ended it.

        A transport closed before the handshake finished raises ConnectionAbortedError.
        """
        try:
            self._flush()
            while self.handshake is None:
                if self._eof:
                    raise ConnectionAbortedError(
                        "the peer closed the connection during the handshake")
                self._read_once()
        except BaseException:
            self._abort()
            raise

    def sendall(self, data) -> None:
        """Encrypt and send all of ``data``."""
        data = memoryview(data).cast("B")
        for start in range(0, len(data), _WRITE_CHUNK):
            chunk = bytes(data[start:start + _WRITE_CHUNK])
            with self._lock:
                if self._closed:
                    raise OSError("the TLS connection is closed")
                if self._conn.closed:  # the peer sent close_notify or the connection failed
                    raise BrokenPipeError("the peer closed the TLS connection")
                self._conn.send_data(chunk)
                self.plaintext_sent += len(chunk)
                self._outbox += self._conn.data_to_send()
            self._send_pending(wait=True)

    def send(self, data) -> int:
        self.sendall(data)
        return len(data)

    def recv(self, bufsize: int = _READ_SIZE) -> bytes:
        """Up to ``bufsize`` bytes of plaintext; ``b""`` after the peer's close_notify."""
        if bufsize <= 0:
            return b""
        with self._read_lock:
            while not self._incoming and not self._eof:
                if self._closed:
                    return b""
                self._read_once()
            data = bytes(self._incoming[:bufsize])
            del self._incoming[:bufsize]
            return data

    def recv_exactly(self, size: int) -> bytes:
        """Exactly ``size`` bytes, or fewer if the peer closes first."""
        parts = []
        while size > 0:
            data = self.recv(size)
            if not data:
                break
            parts.append(data)
            size -= len(data)
        return b"".join(parts)

    def key_update(self, request_peer: bool = True) -> None:
        """Send a KeyUpdate (RFC 8446 section 4.6.3), asking the peer to update too if told."""
        with self._lock:
            self._conn.key_update(request_peer=request_peer)
        self._flush()

    def close(self) -> None:
        """Send close_notify (unless the connection already ended) and close the socket."""
        with self._lock:
            if self._closed:
                return
            try:
                self._conn.close()  # no-op once close_notify was queued or the connection failed
            except TLSError:
                pass
        try:
            self._flush(wait=_CLOSE_WAIT)
        except OSError:
            pass
        finally:
            with self._lock:
                self._closed = True
                self._eof = True
            _shutdown(self._sock)

    def __enter__(self) -> TLSSocket:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else ("open" if self.handshake else "handshaking")
        return "<TLSSocket %s %s>" % (state, self.cipher_suite or "")

    # --- plumbing -----------------------------------------------------------------------------

    def _flush(self, wait: bool | float = True) -> None:
        """Move what the connection queued to the outbox and write the outbox."""
        with self._lock:
            self._outbox += self._conn.data_to_send()
        self._send_pending(wait)

    def _send_pending(self, wait: bool | float) -> None:
        """Write the outbox unless another thread is writing (it will write ours too).

        ``wait``: True waits for the writing thread, False does not, a number waits that many
        seconds at most.
        """
        while True:
            if wait is True or wait is False:
                acquired = self._send_lock.acquire(blocking=wait)
            else:
                acquired = self._send_lock.acquire(timeout=wait)
            if not acquired:
                return
            try:
                while True:
                    with self._lock:
                        out = bytes(self._outbox)
                        self._outbox.clear()
                    if not out:
                        break
                    self._sock.sendall(out)
                    self.bytes_sent += len(out)
            finally:
                self._send_lock.release()
            with self._lock:  # what another thread queued while we were releasing
                if not self._outbox:
                    return

    def _read_once(self) -> None:
        """Read once from the socket and feed the connection; EOF is fed as b""."""
        try:
            data = self._sock.recv(_READ_SIZE)
        except OSError:
            if self._closed:
                self._eof = True
                return
            raise
        self.bytes_received += len(data)
        with self._lock:
            if self._closed:
                self._eof = True
                return
            failure = None
            try:
                events = self._conn.receive_data(data)
            except ProtocolError as exc:
                failure = exc
            except PeerAlertError as exc:
                self.alerts.append(exc.description)
                self._abort()
                raise
            else:
                self._outbox += self._conn.data_to_send()
                self._handle(events)
                if not data:
                    self._eof = True
        if failure is not None:
            # The connection queued the alert for this fault: the peer should see it.
            self._send_alert_and_close()
            raise failure
        self._flush_quietly(wait=False)

    def _handle(self, events) -> None:
        from .tls import AlertReceived, ApplicationData, ConnectionClosed, HandshakeComplete

        for event in events:
            if isinstance(event, ApplicationData):
                self._incoming += event.data
                self.plaintext_received += len(event.data)
            elif isinstance(event, HandshakeComplete):
                self.handshake = event
            elif isinstance(event, AlertReceived):
                self.alerts.append(event.description)
            elif isinstance(event, ConnectionClosed):
                self._eof = True

    def _flush_quietly(self, wait: bool | float = True) -> None:
        try:
            self._flush(wait)
        except OSError:
            # The peer may already be gone (it closed after its close_notify): what it sent
            # still counts, and the next write reports the broken transport.
            pass

    def _send_alert_and_close(self) -> None:
        self._flush_quietly(wait=_CLOSE_WAIT)
        self._abort()

    def _abort(self) -> None:
        """Close the socket without further TLS messages."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._eof = True
                _shutdown(self._sock)


def _shutdown(sock: socket.socket) -> None:
    """Close ``sock``, waking a thread blocked reading it."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


def _hostname_for(host: str) -> str:
    return host.rstrip(".") if host else host


def connect(host: str, port: int, config, *, server_name: str | None = None,
            timeout: float | None = None, source_address=None) -> TLSSocket:
    """Open a TLS connection to ``host:port`` and run the handshake.

    ``host`` is resolved as socket.create_connection does; the name checked in the server's
    certificate (and sent as SNI) is ``server_name``, else ``config.server_name``, else ``host``.
    ``timeout`` bounds the TCP connect and every later socket operation. Raises the
    ProtocolError (or PeerAlertError) that ended a failed handshake, after sending its alert.
    """
    from .tls import ClientConnection

    name = server_name or getattr(config, "server_name", None) or _hostname_for(host)
    sock = socket.create_connection((host, port), timeout=timeout,
                                    source_address=source_address)
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn = ClientConnection(config, server_name=name)
    except BaseException:
        sock.close()
        raise
    tls = TLSSocket(sock, conn, server_hostname=name)
    tls.do_handshake()
    return tls


class Server:
    """A listening socket that hands each TLS connection to ``handler`` on a thread of its own.

    The handshake runs on the connection's thread before ``handler(tls_socket)`` is called; the
    socket is closed (with close_notify) when the handler returns. A failed handshake is passed
    to ``on_error(address, exception)`` (default: logged at INFO level) and ends that
    connection only.
    """

    def __init__(self, host: str, port: int, config, handler: Callable[[TLSSocket], object], *,
                 backlog: int = 128, handshake_timeout: float | None = 30.0,
                 on_error: Callable[[object, BaseException], object] | None = None):
        self.config = config
        self.handler = handler
        self.handshake_timeout = handshake_timeout
        self.on_error = on_error
        self._listener = socket.create_server((host, port), backlog=backlog,
                                              family=_family_for(host))
        self.address = self._listener.getsockname()[:2]
        self._threads: set[threading.Thread] = set()
        self._sockets: set[TLSSocket] = set()
        self._lock = threading.Lock()
        self.accepted = 0

    @property
    def port(self) -> int:
        return self.address[1]

    def serve_forever(self, stop: threading.Event | None = None,
                      max_connections: int | None = None, poll_interval: float = 0.05,
                      drain_timeout: float = 5.0) -> int:
        """Accept until ``stop`` is set or ``max_connections`` were accepted; then wait up to
        ``drain_timeout`` seconds for the open connections to end and close the rest.

        Returns the number of connections accepted.
        """
        self._listener.settimeout(poll_interval)
        try:
            while not (stop is not None and stop.is_set()):
                if max_connections is not None and self.accepted >= max_connections:
                    break
                try:
                    sock, address = self._listener.accept()
                except TimeoutError:
                    continue
                except OSError:
                    if self._listener.fileno() == -1:
                        break
                    raise
                self.accepted += 1
                thread = threading.Thread(target=self._run_connection, args=(sock, address),
                                          name="tls-%s:%s" % address[:2], daemon=True)
                with self._lock:
                    self._threads.add(thread)
                thread.start()
        finally:
            self._listener.close()
            self._drain(drain_timeout, stop)
        return self.accepted

    def close(self) -> None:
        self._listener.close()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _drain(self, timeout: float, stop: threading.Event | None) -> None:
        with self._lock:
            threads = list(self._threads)
        if stop is not None and stop.is_set():
            # Asked to stop: end the open connections with close_notify.
            with self._lock:
                sockets = list(self._sockets)
            for tls in sockets:
                tls.close()
        for thread in threads:
            thread.join(timeout)
        with self._lock:
            sockets = list(self._sockets)
        for tls in sockets:
            tls.close()

    def _run_connection(self, sock: socket.socket, address) -> None:
        from .tls import ServerConnection

        tls = None
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.settimeout(self.handshake_timeout)
            tls = TLSSocket(sock, ServerConnection(self.config))
            with self._lock:
                self._sockets.add(tls)
            tls.do_handshake()
            sock.settimeout(None)
            self.handler(tls)
        except BaseException as exc:  # one connection's failure never stops the server
            self._report(address, exc)
        finally:
            if tls is not None:
                tls.close()
                with self._lock:
                    self._sockets.discard(tls)
            else:
                sock.close()
            with self._lock:
                self._threads.discard(threading.current_thread())

    def _report(self, address, exc: BaseException) -> None:
        if self.on_error is not None:
            try:
                self.on_error(address, exc)
            except Exception:
                log.exception("on_error raised")
        else:
            log.info("connection from %s:%s failed: %s: %s", address[0], address[1],
                     type(exc).__name__, exc)


def _family_for(host: str) -> int:
    return socket.AF_INET6 if host and ":" in host else socket.AF_INET


def serve(host: str, port: int, config, handler: Callable[[TLSSocket], object], *,
          ready: Callable | threading.Event | None = None, stop: threading.Event | None = None,
          max_connections: int | None = None, handshake_timeout: float | None = 30.0,
          on_error: Callable[[object, BaseException], object] | None = None) -> int:
    """Serve TLS on ``host:port`` until ``stop`` is set or ``max_connections`` were accepted.

    Each connection runs ``handler(tls_socket)`` on its own thread once its handshake is done.
    ``ready`` is called with the bound ``(host, port)`` (useful with port 0), or set if it is a
    threading.Event, once the socket listens. Returns the number of connections accepted.
    """
    server = Server(host, port, config, handler, handshake_timeout=handshake_timeout,
                    on_error=on_error)
    if ready is not None:
        if hasattr(ready, "set"):
            ready.set()
        else:
            ready(server.address)
    return server.serve_forever(stop=stop, max_connections=max_connections)

