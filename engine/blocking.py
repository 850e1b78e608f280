"""TLS over blocking sockets: :func:`connect` for a client, :class:`Server` / :func:`serve` for a
threaded server. Both hand over a :class:`TLSSocket`, which has what ``ssl.SSLSocket`` users
call (see :mod:`engine._socket`).
"""

from __future__ import annotations

import selectors
import socket
import threading
import time
from typing import TYPE_CHECKING, Callable

from ._driver import check_config, client_connection, report_failure, server_connection
from ._listen import listening_sockets
from ._socket import TLSSocket
from .tls import ClientConfig, ServerConfig

if TYPE_CHECKING:
    from .tls.session import Session

__all__ = ["TLSSocket", "Server", "connect", "serve"]


def connect(host: str, port: int, config: ClientConfig, *, server_name: str | None = None,
            server_hostname: str | None = None, timeout: float | None = None,
            source_address: tuple[str, int] | None = None, session: Session | None = None,
            early_data: bytes | None = None) -> TLSSocket:
    """Open a TLS connection to ``host:port`` and run the handshake.

    ``host`` is resolved as socket.create_connection does; the name checked in the server's
    certificate (and sent as SNI) is ``server_name`` (or ``server_hostname``, as ``ssl`` calls
    it), else ``config.server_name``, else ``host``. ``timeout`` bounds the TCP connect and
    every later socket operation. ``session`` (an :class:`engine.tls.Session`, such as a
    previous socket's ``session``) is resumed; without one, the config's session cache is used
    (RFC 8446 2.2). ``early_data`` is sent as 0-RTT data when the session allows it, and again
    after the handshake if the server refuses it (2.3). Raises the ProtocolError (or
    PeerAlertError) that ended a failed handshake, after sending its alert; a ServerConfig is a
    TypeError at once.
    """
    check_config(config, ClientConfig, "connect()")
    sock = socket.create_connection((host, port), timeout=timeout,
                                    source_address=source_address)
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn, name = client_connection(config, host, server_name or server_hostname,
                                       session=session, early_data=early_data)
    except BaseException:
        sock.close()
        raise
    tls = TLSSocket(sock, conn, server_hostname=name, config=config)
    tls.do_handshake()
    return tls


class Server:
    """Listening sockets that hand each TLS connection to ``handler`` on a thread of its own.

    ``host`` is listened on as :func:`engine._listen.listening_sockets` says (``::`` is
    dual-stack, ``localhost`` both loopbacks). The handshake runs on the connection's thread,
    within ``handshake_timeout`` seconds in all, before ``handler(tls_socket)`` is called; after
    it, a read or write that waits ``idle_timeout`` seconds raises TimeoutError; the socket is
    closed (with close_notify) when the handler returns. At most ``max_concurrent`` connections
    run at once: more wait in the listen backlog. A failed connection is passed to
    ``on_error(address, exception)``, else logged to the logger ``engine`` (a failed handshake
    as a WARNING), and ends that connection only.
    """

    def __init__(self, host: str | None, port: int, config: ServerConfig,
                 handler: Callable[[TLSSocket], object], *, backlog: int = 128,
                 handshake_timeout: float | None = 60.0, idle_timeout: float | None = 300.0,
                 max_concurrent: int = 512,
                 on_error: Callable[[object, BaseException], object] | None = None) -> None:
        check_config(config, ServerConfig, "Server()")
        if max_concurrent < 1:
            raise ValueError("max_concurrent must be at least 1")
        self.config = config
        self.handler = handler
        self.handshake_timeout = handshake_timeout
        self.idle_timeout = idle_timeout
        self.max_concurrent = max_concurrent
        self.on_error = on_error
        self._listeners = listening_sockets(host, port, backlog=backlog)
        self.addresses = [listener.getsockname() for listener in self._listeners]
        self.address = self.addresses[0][:2]
        self._slots = threading.BoundedSemaphore(max_concurrent)
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
        """Accept until ``stop`` is set or ``max_connections`` were accepted; then end the open
        connections, all within ``drain_timeout`` seconds: when asked to stop, each gets
        close_notify at once; those still open at the end are closed.

        Returns the number of connections accepted.
        """
        selector = selectors.DefaultSelector()
        for listener in self._listeners:
            listener.setblocking(False)
            selector.register(listener, selectors.EVENT_READ)
        try:
            while not (stop is not None and stop.is_set()):
                if max_connections is not None and self.accepted >= max_connections:
                    break
                if any(listener.fileno() == -1 for listener in self._listeners):
                    break  # close() was called
                if not self._slots.acquire(timeout=poll_interval):
                    continue  # max_concurrent connections run: the rest wait in the backlog
                accepted = None
                try:
                    for key, _ in selector.select(poll_interval):
                        ready = key.fileobj
                        assert isinstance(ready, socket.socket)  # only listeners are registered
                        try:
                            accepted = ready.accept()
                            break
                        except (BlockingIOError, InterruptedError):
                            continue
                finally:
                    if accepted is None:
                        self._slots.release()
                if accepted is not None:
                    self._start(*accepted)
        except OSError:
            if not any(listener.fileno() == -1 for listener in self._listeners):
                raise  # a listener that close() closed just ends the loop
        finally:
            selector.close()
            self.close()
            self._drain(drain_timeout, stop is not None and stop.is_set())
        return self.accepted

    def close(self) -> None:
        """Stop listening (open connections go on)."""
        for listener in self._listeners:
            listener.close()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _start(self, sock: socket.socket, address) -> None:
        self.accepted += 1
        sock.setblocking(True)
        thread = threading.Thread(target=self._run_connection, args=(sock, address),
                                  name="tls-%s:%s" % address[:2], daemon=True)
        with self._lock:
            self._threads.add(thread)
        thread.start()

    def _drain(self, timeout: float, stopping: bool) -> None:
        deadline = time.monotonic() + timeout
        if stopping:
            with self._lock:
                sockets = list(self._sockets)
            for tls in sockets:  # none of these waits: all are told at once
                if tls.handshake is None:
                    tls._abort()
                else:
                    tls._close_soon()
        while True:
            with self._lock:
                threads = list(self._threads)
            left = deadline - time.monotonic()
            if not threads or left <= 0:
                break
            threads[0].join(left)
        with self._lock:
            sockets = list(self._sockets)
        for tls in sockets:
            tls._abort()  # wakes a thread blocked on a peer that stopped reading
        grace = time.monotonic() + min(1.0, timeout)
        with self._lock:
            threads = list(self._threads)
        for thread in threads:  # their handlers' cleanup, now that nothing blocks them
            thread.join(max(0.0, grace - time.monotonic()))

    def _run_connection(self, sock: socket.socket, address) -> None:
        tls = None
        in_handshake = True
        try:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
            sock.settimeout(self.handshake_timeout)
            tls = TLSSocket(sock, server_connection(self.config, who="Server()"),
                            config=self.config)
            with self._lock:
                self._sockets.add(tls)
            tls.do_handshake(timeout=self.handshake_timeout)
            in_handshake = False
            sock.settimeout(self.idle_timeout)
            self.handler(tls)
        except BaseException as exc:  # one connection's failure never stops the server
            report_failure(self.on_error, address, exc, in_handshake=in_handshake)
        finally:
            if tls is not None:
                tls.close()
                with self._lock:
                    self._sockets.discard(tls)
            else:
                sock.close()
            with self._lock:
                self._threads.discard(threading.current_thread())
            self._slots.release()


def serve(host: str | None, port: int, config: ServerConfig,
          handler: Callable[[TLSSocket], object], *,
          ready: Callable[[tuple[str, int]], object] | threading.Event | None = None,
          stop: threading.Event | None = None,
          max_connections: int | None = None, handshake_timeout: float | None = 60.0,
          idle_timeout: float | None = 300.0, max_concurrent: int = 512,
          on_error: Callable[[object, BaseException], object] | None = None) -> int:
    """Serve TLS on ``host:port`` until ``stop`` is set or ``max_connections`` were accepted.

    Each connection runs ``handler(tls_socket)`` on its own thread once its handshake is done;
    the timeouts and the bound on concurrent connections are :class:`Server`'s. ``ready`` is
    called with the bound ``(host, port)`` (useful with port 0), or set if it is a
    threading.Event, once the socket listens. Returns the number of connections accepted.
    """
    server = Server(host, port, config, handler, handshake_timeout=handshake_timeout,
                    idle_timeout=idle_timeout, max_concurrent=max_concurrent, on_error=on_error)
    if ready is not None:
        if hasattr(ready, "set"):
            ready.set()
        else:
            ready(server.address)
    return server.serve_forever(stop=stop, max_connections=max_connections)
