"""engine.aio in asyncio's ssl shapes: ``get_extra_info`` as asyncio's ssl transports answer it,
``server_hostname``, ``start_tls`` (STARTTLS) against Python's ssl both ways, and an ASGI server
(uvicorn's own protocol) over :func:`engine.aio.create_server`."""

from __future__ import annotations

import asyncio
import http.client
import socket

import pytest

from engine import aio
from engine.tls import ClientConfig, ServerConfig
from tests._support.peers import ssl_client_context, ssl_server_context

TIMEOUT = 10.0


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, TIMEOUT * 3))


def client_config(pki) -> ClientConfig:
    return ClientConfig(trust=pki.trust, crls=pki.crls)


def test_get_extra_info_answers_as_asyncios_ssl_transport(pki, ssl_server):
    server = ssl_server(ssl_server_context(pki.servers["p384"]))
    names = ("peercert", "cipher", "compression")

    async def main():
        context = ssl_client_context(pki.ca_path)
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port, ssl=context,
                                                       server_hostname="localhost")
        expected = {name: writer.get_extra_info(name) for name in names}
        ssl_object = writer.get_extra_info("ssl_object")
        expected["version"] = ssl_object.version()
        expected["der"] = ssl_object.getpeercert(binary_form=True)
        writer.close()
        await writer.wait_closed()

        config = client_config(pki)
        reader, writer = await aio.open_connection("localhost", server.port, config)
        got = {name: writer.get_extra_info(name) for name in names}
        ssl_object = writer.get_extra_info("ssl_object")
        got["version"] = ssl_object.version()
        got["der"] = ssl_object.getpeercert(binary_form=True)
        assert writer.get_extra_info("sslcontext") is config and writer.get_extra_info(
            "sslcontext")
        assert writer.get_extra_info("peername")[:2] == ("127.0.0.1", server.port)
        assert writer.get_extra_info("sockname")[0] == "127.0.0.1"
        assert ssl_object.selected_alpn_protocol() is None
        assert ssl_object.server_hostname == "localhost" and not ssl_object.server_side
        writer.write(b"ping")
        assert await reader.readexactly(4) == b"ping"
        writer.close()
        await writer.wait_closed()
        return expected, got

    expected, got = run(main())
    assert got == expected


def test_open_connection_takes_server_hostname_as_asyncio_does(pki):
    seen = []

    async def record(reader, writer):
        seen.append(writer.get_extra_info("server_name"))
        writer.close()

    async def main():
        server = await aio.start_server(record, "127.0.0.1", 0,
                                        ServerConfig([pki.servers["p256"].keystore]))
        port = server.sockets[0].getsockname()[1]
        async with server:
            reader, writer = await aio.open_connection("127.0.0.1", port, client_config(pki),
                                                       server_hostname="localhost")
            assert writer.get_extra_info("ssl_object").server_hostname == "localhost"
            assert await reader.read() == b""
            writer.close()

    run(main())
    assert seen == ["localhost"]  # sent as SNI, which an IP address never is


class LineClient(asyncio.Protocol):
    """A protocol that queues what it receives, before and after STARTTLS alike."""

    def __init__(self):
        self.received: asyncio.Queue = asyncio.Queue()

    def data_received(self, data):
        self.received.put_nowait(data)

    async def read(self, size: int) -> bytes:
        data = b""
        while len(data) < size:
            data += await asyncio.wait_for(self.received.get(), TIMEOUT)
        return data


class Upgrading(asyncio.Protocol):
    """A line server that answers STARTTLS with OK, upgrades, then answers each message.

    Data may reach ``data_received`` (decrypted) before ``start_tls`` has returned the new
    transport: it waits for it.
    """

    def connection_made(self, transport):
        self.transport = transport
        self.tls_transport = None
        self.upgrading = False
        self.early: list = []

    def data_received(self, data):
        if self.tls_transport is not None:
            self.tls_transport.write(self.answer(data))
        elif self.upgrading:
            self.early.append(data)
        elif data == b"STARTTLS\r\n":
            self.transport.write(b"OK\r\n")
            self.upgrading = True
            asyncio.ensure_future(self.upgrade())

    async def upgrade(self):
        self.tls_transport = await self.start_tls(self.transport)
        for data in self.early:
            self.tls_transport.write(self.answer(data))


def test_start_tls_as_client_with_an_ssl_server_that_upgrades(pki):
    """The ssl side is asyncio's own loop.start_tls (server_side=True)."""
    context = ssl_server_context(pki.servers["p256"])

    class UpgradingServer(Upgrading):
        def answer(self, data):
            return data.upper()

        async def start_tls(self, transport):
            self.transport.pause_reading()  # the ClientHello waits for start_tls
            return await asyncio.get_running_loop().start_tls(transport, self, context,
                                                              server_side=True)

    async def main():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(UpgradingServer, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            transport, protocol = await loop.create_connection(LineClient, "127.0.0.1", port)
            transport.write(b"STARTTLS\r\n")
            assert await protocol.read(4) == b"OK\r\n"
            tls = await aio.start_tls(transport, protocol, client_config(pki),
                                      server_hostname="localhost")
            assert tls.get_extra_info("ssl_object").version() == "TLSv1.3"
            assert tls.get_extra_info("peercert")["subject"] == ((("commonName",
                                                                    "localhost"),),)
            tls.write(b"now encrypted")
            assert await protocol.read(13) == b"NOW ENCRYPTED"
            tls.close()

    run(main())


def test_start_tls_as_server_with_an_ssl_client(pki):
    config = ServerConfig([pki.servers["p256"].keystore])

    class UpgradingServer(Upgrading):
        def answer(self, data):
            return data[::-1]

        async def start_tls(self, transport):
            return await aio.start_tls(transport, self, config, server_side=True)

    def ssl_client(port):
        with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
            sock.sendall(b"STARTTLS\r\n")
            assert sock.recv(4) == b"OK\r\n"
            context = ssl_client_context(pki.ca_path)
            with context.wrap_socket(sock, server_hostname="localhost") as tls:
                tls.sendall(b"stressed")
                return tls.recv(100), tls.version()

    async def main():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(UpgradingServer, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            return await loop.run_in_executor(None, ssl_client, port)

    assert run(main()) == (b"desserts", "TLSv1.3")


def test_start_tls_refuses_a_config_of_the_other_side(pki):
    async def main():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(asyncio.Protocol, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            transport, protocol = await loop.create_connection(LineClient, "127.0.0.1", port)
            with pytest.raises(TypeError, match="ClientConfig"):
                await aio.start_tls(transport, protocol,
                                    ServerConfig([pki.servers["p256"].keystore]),
                                    server_hostname="localhost")
            with pytest.raises(ValueError, match="server_hostname"):
                await aio.start_tls(transport, protocol, client_config(pki))
            transport.close()

    run(main())


def test_uvicorns_http_protocol_serves_https_over_create_server(pki):
    uvicorn = pytest.importorskip("uvicorn")
    from uvicorn.server import ServerState

    async def app(scope, receive, send):
        assert scope["type"] == "http"
        body = ("%s %s %s" % (scope["scheme"], scope["http_version"], scope["path"])).encode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": body})

    settings = uvicorn.Config(app, lifespan="off", log_level="warning", http="h11")
    settings.load()
    state = ServerState()

    def fetch(port):
        context = ssl_client_context(pki.ca_path)
        connection = http.client.HTTPSConnection("localhost", port, context=context,
                                                  timeout=TIMEOUT)
        try:
            bodies = []
            for path in ("/one", "/two"):
                connection.request("GET", path)
                response = connection.getresponse()
                bodies.append((response.status, response.read()))
            return bodies, connection.sock.version()
        finally:
            connection.close()

    async def main():
        server = await aio.create_server(
            lambda: settings.http_protocol_class(config=settings, server_state=state,
                                                 app_state={}),
            "127.0.0.1", 0, ServerConfig([pki.servers["p256"].keystore]))
        port = server.sockets[0].getsockname()[1]
        async with server:
            result = await asyncio.get_running_loop().run_in_executor(None, fetch, port)
            for connection in list(state.connections):
                connection.shutdown()
            return result

    bodies, version = run(main())
    assert bodies == [(200, b"https 1.1 /one"), (200, b"https 1.1 /two")]
    assert version == "TLSv1.3"
    assert state.total_requests == 2
