"""ASGI applications served over engine's TLS: uvicorn's HTTP/1.1 protocol on :mod:`engine.aio`.

uvicorn does the HTTP (its h11 protocol class, its lifespan handling, keep-alive and graceful
shutdown); this module supplies only the transport. Each accepted connection gets a
:class:`engine.aio.TLSProtocol` whose application protocol is uvicorn's, so the HTTP protocol
starts only after a complete TLS 1.3 handshake and reads and writes plaintext.

Every request's scope has ``scheme == "https"`` and ``scope["extensions"]["tls"]``, the ASGI TLS
extension's fields (``tls_version``, ``cipher_suite`` as a code point, ``client_cert_chain`` as
PEM, ``client_cert_name``, ``client_cert_error``, ``server_cert``) and engine's own:
``cipher_suite_name``, ``group``, ``signature_scheme``, ``server_name`` (SNI),
``alpn_protocol``, ``peer_chain`` (x509 objects, leaf first) and ``resumed`` (whether the
handshake resumed a session from a ticket).

    import engine.asgi
    engine.asgi.serve(app, "localhost", 8443, server_config)     # blocks, like uvicorn.run

``serve`` listens on every address the host resolves to (``localhost`` is 127.0.0.1 and ::1 on
one port; ``::`` is one dual-stack socket). The TLS configuration may be a callable that returns
the ServerConfig to use, asked once per connection: a server whose CRL changes hands each new
handshake the latest.
"""

from __future__ import annotations

import asyncio
import collections
import contextvars
import errno
import socket
import threading
import time
from typing import TYPE_CHECKING, Any, Awaitable, Callable, MutableMapping, Sequence, cast

from .aio import TLSProtocol
from .errors import PeerAlertError, ProtocolError

if TYPE_CHECKING:
    from .tls import ServerConfig

#: An ASGI application, as Starlette types it: ``app(scope, receive, send)``.
ASGIApp = Callable[[MutableMapping[str, Any], Callable[[], Awaitable[MutableMapping[str, Any]]],
                    Callable[[MutableMapping[str, Any]], Awaitable[None]]], Awaitable[None]]

__all__ = ["Server", "ServerStats", "TLSScope", "bind_sockets", "serve", "tls_extension"]

TLS13 = 0x0304
_BACKLOG = 2048  # as uvicorn's default
_facts: contextvars.ContextVar = contextvars.ContextVar("engine_asgi_tls", default=None)


def tls_extension(handshake) -> dict:
    """The ``scope["extensions"]["tls"]`` dict for a connection's HandshakeComplete event."""
    from cryptography.hazmat.primitives.serialization import Encoding

    from .tls.constants import SUITE_BY_NAME

    chain = tuple(handshake.peer_chain)
    suite = SUITE_BY_NAME.get(handshake.cipher_suite)
    return {
        "tls_version": TLS13,
        "cipher_suite": suite.code if suite is not None else None,
        "server_cert": None,
        "client_cert_chain": [cert.public_bytes(Encoding.PEM).decode("ascii") for cert in chain],
        "client_cert_name": chain[0].subject.rfc4514_string() if chain else None,
        "client_cert_error": None,
        "cipher_suite_name": handshake.cipher_suite,
        "group": handshake.group,
        "signature_scheme": handshake.signature_scheme,
        "server_name": handshake.server_name,
        "alpn_protocol": handshake.alpn_protocol,
        "peer_chain": chain,
        "resumed": bool(getattr(handshake, "resumed", False)),
    }


class TLSScope:
    """ASGI middleware: puts the TLS facts of the request's connection in its scope."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        facts = _facts.get()
        if facts is not None and scope["type"] in ("http", "websocket"):
            scope = dict(scope)
            scope["extensions"] = {**(scope.get("extensions") or {}), "tls": facts}
        await self.app(scope, receive, send)


class _Relay:
    """Sits between the TLS protocol and uvicorn's: each call runs with the connection's TLS
    facts in a context variable, which the tasks and callbacks it starts inherit."""

    def __init__(self, inner, tls: TLSProtocol, stats: ServerStats):
        self.inner = inner
        self.tls = tls
        self.stats = stats
        self.facts = None

    def _run(self, method, *args):
        token = _facts.set(self.facts)
        try:
            return method(*args)
        finally:
            _facts.reset(token)

    def connection_made(self, transport):
        self.facts = tls_extension(self.tls.handshake)
        self._run(self.inner.connection_made, transport)

    def data_received(self, data):
        self._run(self.inner.data_received, data)

    def eof_received(self):
        return self._run(self.inner.eof_received)

    def connection_lost(self, exc):
        if isinstance(exc, (ProtocolError, PeerAlertError)):
            self.stats.alert(exc)
        self._run(self.inner.connection_lost, exc)

    def pause_writing(self):
        self._run(self.inner.pause_writing)

    def resume_writing(self):
        self._run(self.inner.resume_writing)


def _alert_kind(exc: BaseException) -> str:
    if isinstance(exc, PeerAlertError):
        return "received %s" % getattr(exc.description, "name", exc.description)
    if isinstance(exc, ProtocolError):
        return "sent %s" % getattr(exc.alert, "name", exc.alert)
    if isinstance(exc, TimeoutError):
        return "handshake timeout"
    return "closed during handshake"


class ServerStats:
    """What a server has seen: handshakes, connections, alerts by kind, bytes on the wire.

    Counters only; safe to read from another thread (a snapshot is taken under a lock).
    """

    def __init__(self):
        self._lock = threading.Lock()
        self.started = time.time()
        self.handshakes = 0
        self.failed_handshakes = 0
        self.connections = 0
        self.alerts: collections.Counter = collections.Counter()
        self.groups: collections.Counter = collections.Counter()
        self.cipher_suites: collections.Counter = collections.Counter()
        self._closed_sent = 0
        self._closed_received = 0
        self._live: set = set()

    def opened(self, protocol: TLSProtocol) -> None:
        with self._lock:
            self.connections += 1
            self._live.add(protocol)

    def closed(self, protocol: TLSProtocol) -> None:
        with self._lock:
            if protocol in self._live:
                self._live.discard(protocol)
                self._closed_sent += protocol.bytes_sent
                self._closed_received += protocol.bytes_received

    def handshake(self, protocol: TLSProtocol, exc: BaseException | None) -> None:
        with self._lock:
            if exc is None:
                self.handshakes += 1
                self.groups[protocol.handshake.group] += 1
                self.cipher_suites[protocol.handshake.cipher_suite] += 1
            else:
                self.failed_handshakes += 1
                self.alerts[_alert_kind(exc)] += 1

    def alert(self, exc: BaseException) -> None:
        with self._lock:
            self.alerts[_alert_kind(exc)] += 1

    def live(self) -> list:
        """The TLS protocols of the connections open now."""
        with self._lock:
            return list(self._live)

    def snapshot(self) -> dict:
        with self._lock:
            live = list(self._live)
            return {
                "time": time.time(),
                "uptime": time.time() - self.started,
                "connections": self.connections,
                "active_connections": len(live),
                "handshakes": self.handshakes,
                "failed_handshakes": self.failed_handshakes,
                "alerts": dict(self.alerts),
                "groups": dict(self.groups),
                "cipher_suites": dict(self.cipher_suites),
                "bytes_sent": self._closed_sent + sum(p.bytes_sent for p in live),
                "bytes_received": self._closed_received + sum(p.bytes_received for p in live),
            }


class _CountedTLSProtocol(TLSProtocol):
    """engine.aio's TLS protocol, reporting to the server's statistics."""

    def __init__(self, *args, stats: ServerStats, **kwargs):
        super().__init__(*args, **kwargs)
        self._stats = stats

    def connection_made(self, transport) -> None:
        self._stats.opened(self)
        super().connection_made(transport)

    def connection_lost(self, exc) -> None:
        super().connection_lost(exc)
        self._stats.closed(self)


def bind_sockets(host: str | None, port: int, *, attempts: int = 5) -> list:
    """Listening TCP sockets for every address of ``host``, all on one port.

    ``None``, ``"localhost"`` or a name under it gives the loopback addresses (127.0.0.1 and ::1
    where the machine has IPv6, whatever the hosts file says); ``"::"`` gives one socket that takes IPv4 and IPv6 alike; a literal
    address or another name gives the addresses it resolves to. Port 0 picks a free port that
    every socket shares. An address family the machine lacks is skipped, as long as one binds.
    """
    host = host or "localhost"
    if host == "::":
        sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            sock.bind(("::", port))
            sock.listen(_BACKLOG)
        except BaseException:
            sock.close()
            raise
        return [sock]
    if host == "localhost" or host.endswith(".localhost"):
        # Loopback whatever the hosts file says, as browsers resolve it (RFC 6761 section 6.3).
        infos: Sequence[tuple[socket.AddressFamily, int, int, str, tuple[Any, ...]]]
        infos = [(socket.AF_INET, 0, 0, "", ("127.0.0.1", port)),
                 (socket.AF_INET6, 0, 0, "", ("::1", port, 0, 0))]
    else:
        infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM,
                                   flags=socket.AI_PASSIVE)
    addresses: list[tuple[socket.AddressFamily, tuple[Any, ...]]] = []
    for family, _, _, _, address in infos:
        if (family, address[0]) not in [(f, a[0]) for f, a in addresses]:
            addresses.append((family, address))
    for attempt in range(attempts):
        sockets, chosen = [], port
        try:
            for family, address in addresses:
                sock = socket.socket(family, socket.SOCK_STREAM)
                try:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    if family == socket.AF_INET6:
                        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                    sock.bind((address[0], chosen) + tuple(address[2:]))
                except OSError as exc:
                    sock.close()
                    if exc.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT) \
                            and len(addresses) > 1:
                        continue  # no IPv6 (or no IPv4) here: the other family will do
                    raise
                sockets.append(sock)
                chosen = sock.getsockname()[1]
            for sock in sockets:
                sock.listen(_BACKLOG)  # connections wait in the queue until serving starts
        except OSError as exc:
            for sock in sockets:
                sock.close()
            if port == 0 and exc.errno == errno.EADDRINUSE and attempt + 1 < attempts:
                continue  # the free port of the first family was taken in the other
            raise
        if not sockets:
            raise OSError(errno.EADDRNOTAVAIL, "no address of %s can be bound" % host)
        return sockets
    raise AssertionError("unreachable")


class Server:
    """An ASGI application behind uvicorn's HTTP protocol and engine's TLS.

    ``config`` is a :class:`engine.tls.ServerConfig`, or a callable returning one (asked for
    each new connection). ``stats`` counts handshakes, alerts and bytes. Other keywords go to
    ``uvicorn.Config`` (``timeout_keep_alive``, ``access_log``...).
    """

    def __init__(self, app: ASGIApp, config: ServerConfig | Callable[[], ServerConfig],
                 host: str | None = "localhost", port: int = 8443, *,
                 handshake_timeout: float = 30.0, **uvicorn_options: Any) -> None:
        import uvicorn

        self.app = app
        self.host = host
        self.port = port
        self.handshake_timeout = handshake_timeout
        self._config = config
        self.stats = ServerStats()
        self.addresses: list = []
        self._loop: asyncio.AbstractEventLoop | None = None
        options = {"log_config": None, "access_log": False, "proxy_headers": False,
                   "server_header": False, "lifespan": "auto", **uvicorn_options}
        # uvicorn calls ``http`` as a protocol factory, which a bound method can be.
        protocol = cast("type[asyncio.Protocol]", self._protocol)
        self._uvicorn = uvicorn.Server(uvicorn.Config(TLSScope(app), http=protocol,
                                                      **options))

    def tls_config(self):
        """The ServerConfig for a new connection."""
        return self._config() if callable(self._config) else self._config

    def _protocol(self, config, server_state, app_state, _loop=None):
        from uvicorn.protocols.http.h11_impl import H11Protocol

        from .tls import ServerConnection

        http = H11Protocol(config=config, server_state=server_state, app_state=app_state,
                           _loop=_loop)
        loop = _loop or asyncio.get_running_loop()
        done = loop.create_future()
        tls = _CountedTLSProtocol(ServerConnection(self.tls_config()), None, stats=self.stats,
                                  handshake_done=done, handshake_timeout=self.handshake_timeout)
        tls.app_protocol = _Relay(http, tls, self.stats)
        done.add_done_callback(
            lambda fut: self.stats.handshake(tls, None if fut.cancelled() else fut.exception()))
        return tls

    @property
    def started(self) -> bool:
        return self._uvicorn.started

    def close_connections(self, matches, spare=None) -> int:
        """Close (with close_notify) every open connection whose HandshakeComplete event
        ``matches(event)``, except the one whose TLS scope extension is ``spare`` (a request
        that wants its own response to go out first); returns how many. Thread-safe."""
        loop = self._loop
        count = 0
        for tls in self.stats.live():
            if tls.handshake is None or not matches(tls.handshake):
                continue
            if spare is not None and getattr(tls.app_protocol, "facts", None) is spare:
                continue
            count += 1
            if loop is not None:
                loop.call_soon_threadsafe(tls.close)
        return count

    async def serve(self, sockets: list | None = None) -> None:
        """Listen (on ``sockets``, else on :func:`bind_sockets` of host and port) until
        :meth:`stop` or SIGINT/SIGTERM (when run in the main thread)."""
        self._loop = asyncio.get_running_loop()
        if sockets is None:
            sockets = bind_sockets(self.host, self.port)
        self.addresses = [sock.getsockname()[:2] for sock in sockets]
        await self._uvicorn.serve(sockets=sockets)

    def stop(self) -> None:
        """Ask the server to finish (thread-safe): it closes its listeners and connections."""
        self._uvicorn.should_exit = True


def serve(app: ASGIApp, host: str | None, port: int,
          config: ServerConfig | Callable[[], ServerConfig], **options: Any) -> None:
    """Serve ``app`` over TLS on ``host``:``port`` until SIGINT or SIGTERM (see :class:`Server`)."""
    asyncio.run(Server(app, config, host, port, **options).serve())
