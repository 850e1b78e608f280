"""httpx over the engine's TLS: :class:`HTTPTransport` and :class:`AsyncHTTPTransport`.

::

    import httpx
    from engine import ClientConfig
    from engine.httpx import HTTPTransport

    with httpx.Client(transport=HTTPTransport(ClientConfig(trust=trust))) as client:
        client.get("https://localhost:4433/")

httpx hands each request to an httpcore connection pool, which does HTTP/1.1 (with h11), keeps
connections alive and applies the timeouts; these transports give that pool a network backend
(httpcore's ``NetworkBackend`` interface) whose ``start_tls`` runs the engine's handshake where
httpcore's own would run ``ssl``'s. Everything else, httpx's exceptions included, is httpx's:
a refused certificate is an ``httpx.ConnectError`` whose message says why. The protocols
offered by ALPN are the config's, else those httpcore asks for (``http/1.1``; ``h2`` too with
``http2=True``, which needs the ``h2`` package). The config's groups are offered, so
X25519MLKEM768 works where ``ssl`` over OpenSSL 3.0 cannot offer it.

A client made with ``trust_env=True`` (httpx's default) routes requests through the proxies
that the environment names with its own transports; pass ``trust_env=False`` (or mount this
transport for the proxy too) to keep every request on the engine. TLS inside TLS (an HTTPS
proxy) is not supported. Needs the ``httpx`` extra: ``pip install engine[httpx]``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import select
import socket
import threading
import time

from typing import TYPE_CHECKING, Iterable, cast

import httpcore
import httpx

from . import aio
from ._driver import check_config, client_connection
from .blocking import TLSSocket
from .tls import ClientConfig

if TYPE_CHECKING:
    import ssl

__all__ = ["HTTPTransport", "AsyncHTTPTransport"]

_DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)


class HTTPTransport(httpx.HTTPTransport):
    """``httpx.HTTPTransport`` with the engine's TLS: ``httpx.Client(transport=...)``.

    ``config`` is the ClientConfig every connection uses; the other arguments are httpx's.
    """

    def __init__(self, config: ClientConfig, *, http1: bool = True, http2: bool = False,
                 limits: httpx.Limits = _DEFAULT_LIMITS, local_address: str | None = None,
                 retries: int = 0,
                 socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None) -> None:
        check_config(config, ClientConfig, "HTTPTransport()")
        # httpx builds its pool here with an ssl context (verification off: it is never used);
        # the pool is replaced by one over the engine's backend.
        super().__init__(verify=False, http1=http1, http2=http2, limits=limits,
                         local_address=local_address, retries=retries,
                         socket_options=socket_options)
        _check_pool(self)
        self._pool = httpcore.ConnectionPool(
            ssl_context=_alpn_request(), max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry, http1=http1, http2=http2,
            local_address=local_address, retries=retries, socket_options=socket_options,
            network_backend=_Backend(_Configs(config)))


class AsyncHTTPTransport(httpx.AsyncHTTPTransport):
    """``httpx.AsyncHTTPTransport`` with the engine's TLS (asyncio), for ``httpx.AsyncClient``."""

    def __init__(self, config: ClientConfig, *, http1: bool = True, http2: bool = False,
                 limits: httpx.Limits = _DEFAULT_LIMITS, local_address: str | None = None,
                 retries: int = 0,
                 socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None) -> None:
        check_config(config, ClientConfig, "AsyncHTTPTransport()")
        super().__init__(verify=False, http1=http1, http2=http2, limits=limits,
                         local_address=local_address, retries=retries,
                         socket_options=socket_options)
        _check_pool(self)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=_alpn_request(), max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry, http1=http1, http2=http2,
            local_address=local_address, retries=retries, socket_options=socket_options,
            network_backend=_AsyncBackend(_Configs(config)))


def _check_pool(transport) -> None:
    if not isinstance(getattr(transport, "_pool", None), (httpcore.ConnectionPool,
                                                          httpcore.AsyncConnectionPool)):
        raise RuntimeError("this httpx version keeps its connection pool elsewhere: "
                           "engine.httpx cannot put the engine's TLS under it")


class _ALPNRequest:
    """Stands where httpcore passes an ``ssl.SSLContext``: it keeps the ALPN protocols httpcore
    asks for (the only thing httpcore sets on it), for the engine's config to offer."""

    def __init__(self):
        self.protocols: tuple = ("http/1.1",)

    def set_alpn_protocols(self, protocols) -> None:
        self.protocols = tuple(protocols)


def _alpn_request() -> ssl.SSLContext:
    # httpcore only calls set_alpn_protocols on its ssl_context: an _ALPNRequest stands in.
    return cast("ssl.SSLContext", _ALPNRequest())


class _Configs:
    """The ClientConfig for a connection: the given one, offering the ALPN protocols httpcore
    asks for when it names none (made once per list)."""

    def __init__(self, config):
        self._config = config
        self._by_alpn: dict = {}
        self._lock = threading.Lock()

    def __call__(self, ssl_context) -> ClientConfig:
        if self._config.alpn_protocols:
            return self._config
        protocols = getattr(ssl_context, "protocols", ("http/1.1",))
        with self._lock:
            config = self._by_alpn.get(protocols)
            if config is None:
                config = dataclasses.replace(self._config, alpn_protocols=protocols)
                self._by_alpn[protocols] = config
        return config


@contextlib.contextmanager
def _errors_as(timeout_error: type, other_error: type):
    """httpcore's exception for a timeout or another OSError (TLS errors are OSErrors)."""
    try:
        yield
    except (TimeoutError, asyncio.TimeoutError) as exc:
        raise timeout_error(str(exc) or "timed out") from exc
    except OSError as exc:
        raise other_error(str(exc) or type(exc).__name__) from exc


def _readable(sock) -> bool:
    """Whether ``sock`` has input (for an idle connection: the server closed it)."""
    fd = sock.fileno()
    if fd < 0:
        return True
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        return bool(poller.poll(0))
    return bool(select.select([fd], [], [], 0)[0])


# --- blocking ---------------------------------------------------------------------------------


class _Stream(httpcore.NetworkStream):
    """A TCP socket, or the TLSSocket over it once ``start_tls`` ran."""

    def __init__(self, sock, configs: _Configs, tls: TLSSocket | None = None):
        self._sock = sock
        self._configs = configs
        self._tls = tls

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        with _errors_as(httpcore.ReadTimeout, httpcore.ReadError):
            stream = self._tls or self._sock
            stream.settimeout(timeout)
            return stream.recv(max_bytes)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        with _errors_as(httpcore.WriteTimeout, httpcore.WriteError):
            stream = self._tls or self._sock
            stream.settimeout(timeout)
            stream.sendall(buffer)

    def close(self) -> None:
        (self._tls or self._sock).close()

    def start_tls(self, ssl_context, server_hostname: str | None = None,
                  timeout: float | None = None) -> _Stream:
        if self._tls is not None:
            raise httpcore.ConnectError("TLS inside TLS (an HTTPS proxy) is not supported")
        config = self._configs(ssl_context)
        with _errors_as(httpcore.ConnectTimeout, httpcore.ConnectError):
            try:
                self._sock.settimeout(timeout)
                connection, name = client_connection(config, None, server_hostname)
                tls = TLSSocket(self._sock, connection, server_hostname=name, config=config)
                tls.do_handshake()
            except BaseException:
                self._sock.close()
                raise
        return _Stream(self._sock, self._configs, tls)

    def get_extra_info(self, info: str):
        if info == "ssl_object":
            return self._tls
        if info == "client_addr":
            return self._sock.getsockname()
        if info == "server_addr":
            return self._sock.getpeername()
        if info == "socket":
            return self._sock
        if info == "is_readable":
            return (self._tls is not None and self._tls.pending() > 0) or _readable(self._sock)
        return None


class _Backend(httpcore.NetworkBackend):
    def __init__(self, configs: _Configs):
        self._configs = configs

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None, socket_options=None) -> _Stream:
        source = None if local_address is None else (local_address, 0)
        with _errors_as(httpcore.ConnectTimeout, httpcore.ConnectError):
            sock = socket.create_connection((host, port), timeout, source_address=source)
            try:
                for option in socket_options or ():
                    sock.setsockopt(*option)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except BaseException:
                sock.close()
                raise
        return _Stream(sock, self._configs)

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options=None) -> _Stream:
        with _errors_as(httpcore.ConnectTimeout, httpcore.ConnectError):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                for option in socket_options or ():
                    sock.setsockopt(*option)
                sock.settimeout(timeout)
                sock.connect(path)
            except BaseException:
                sock.close()
                raise
        return _Stream(sock, self._configs)

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


# --- asyncio ----------------------------------------------------------------------------------


class _AsyncStream(httpcore.AsyncNetworkStream):
    """asyncio streams over a TCP transport, or over the engine's TLS once ``start_tls`` ran."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 protocol: asyncio.StreamReaderProtocol, configs: _Configs,
                 tcp_writer: asyncio.StreamWriter | None = None):
        self._reader = reader
        self._writer = writer
        self._protocol = protocol
        self._configs = configs
        self._tls = tcp_writer is not None
        # A StreamWriter closes its transport when collected: the TCP one lives as long as we do.
        self._tcp_writer = tcp_writer

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        with _errors_as(httpcore.ReadTimeout, httpcore.ReadError):
            return await asyncio.wait_for(self._reader.read(max_bytes), timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        with _errors_as(httpcore.WriteTimeout, httpcore.WriteError):
            self._writer.write(buffer)
            await asyncio.wait_for(self._writer.drain(), timeout)

    async def aclose(self) -> None:
        self._writer.close()
        with contextlib.suppress(OSError):
            await self._writer.wait_closed()

    async def start_tls(self, ssl_context, server_hostname: str | None = None,
                        timeout: float | None = None) -> _AsyncStream:
        if self._tls:
            raise httpcore.ConnectError("TLS inside TLS (an HTTPS proxy) is not supported")
        config = self._configs(ssl_context)
        with _errors_as(httpcore.ConnectTimeout, httpcore.ConnectError):
            try:
                transport = await aio.start_tls(self._writer.transport, self._protocol, config,
                                                server_hostname=server_hostname,
                                                handshake_timeout=timeout)
            except BaseException:
                self._writer.close()
                raise
        writer = asyncio.StreamWriter(transport, self._protocol, self._reader,
                                      asyncio.get_running_loop())
        return _AsyncStream(self._reader, writer, self._protocol, self._configs,
                            tcp_writer=self._writer)

    def get_extra_info(self, info: str):
        writer = self._writer
        if info == "ssl_object":
            return writer.get_extra_info("ssl_object") if self._tls else None
        if info == "client_addr":
            return writer.get_extra_info("sockname")
        if info == "server_addr":
            return writer.get_extra_info("peername")
        if info == "socket":
            return writer.get_extra_info("socket")
        if info == "is_readable":
            return self._reader.at_eof() or writer.transport.is_closing()
        return None


class _AsyncBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, configs: _Configs):
        self._configs = configs

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None, socket_options=None) -> _AsyncStream:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(loop=loop)
        protocol = asyncio.StreamReaderProtocol(reader, loop=loop)
        local = None if local_address is None else (local_address, 0)
        with _errors_as(httpcore.ConnectTimeout, httpcore.ConnectError):
            transport, _ = await asyncio.wait_for(
                loop.create_connection(lambda: protocol, host, port, local_addr=local), timeout)
            sock = transport.get_extra_info("socket")
            try:
                for option in socket_options or ():
                    sock.setsockopt(*option)
            except BaseException:
                transport.close()
                raise
        writer = asyncio.StreamWriter(transport, protocol, reader, loop)
        return _AsyncStream(reader, writer, protocol, self._configs)

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options=None) -> _AsyncStream:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(loop=loop)
        protocol = asyncio.StreamReaderProtocol(reader, loop=loop)
        with _errors_as(httpcore.ConnectTimeout, httpcore.ConnectError):
            transport, _ = await asyncio.wait_for(
                loop.create_unix_connection(lambda: protocol, path), timeout)
        writer = asyncio.StreamWriter(transport, protocol, reader, loop)
        return _AsyncStream(reader, writer, protocol, self._configs)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
