"""Resumption and 0-RTT through both adapters: a session handed from one connection to the
next, early data that reaches the server's handler first, and early data the server refuses
sent again after the handshake, so the stream carries it either way (RFC 8446 2.2, 2.3)."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

import engine
import engine.aio
from engine.blocking import Server
from engine.tls import ClientConfig, ServerConfig
from tests._support.peers import TIMEOUT, echo, serving


@contextlib.contextmanager
def running(config, handler):
    """A blocking Server on 127.0.0.1:0 in a thread: yields (port, errors)."""
    errors = []
    server = Server("127.0.0.1", 0, config, handler, on_error=lambda a, e: errors.append(e))
    with serving(server):
        yield server.port, errors


@pytest.fixture
def client_config(creds):
    return ClientConfig(trust=creds.trust, session_cache_size=0)  # sessions handed by hand


def first_session(port, config):
    with engine.connect("127.0.0.1", port, config, server_name="localhost",
                        timeout=TIMEOUT) as tls:
        tls.sendall(b"first")
        assert tls.recv_exactly(5) == b"first"  # the tickets came before the echo
        assert not tls.session_reused
        assert tls.session is not None
        return tls.session


@pytest.mark.parametrize("max_early_data", [16384, 0])
def test_blocking_connect_resumes_and_its_early_data_reaches_the_handler(creds, client_config,
                                                                          max_early_data):
    handshakes = []

    def handler(tls):
        handshakes.append(tls.handshake)
        echo(tls)

    config = ServerConfig([creds.server], max_early_data=max_early_data)
    with running(config, handler) as (port, errors):
        session = first_session(port, client_config)
        with engine.connect("127.0.0.1", port, client_config, server_name="localhost",
                            timeout=TIMEOUT, session=session, early_data=b"early") as tls:
            assert tls.session_reused
            tls.sendall(b" and late")
            assert tls.recv_exactly(14) == b"early and late"
    assert not errors
    assert handshakes[1].resumed
    # a server that takes no early data says so in its tickets: the client sends it after
    # the handshake instead
    assert handshakes[1].early_data_accepted is (True if max_early_data else None)


def test_asyncio_open_connection_resumes_with_early_data(creds, client_config):
    async def handle(reader, writer):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        writer.close()

    async def main():
        config = ServerConfig([creds.server], max_early_data=16384)
        server = await engine.aio.start_server(handle, "127.0.0.1", 0, config)
        port = server.sockets[0].getsockname()[1]
        async with server:
            reader, writer = await engine.aio.open_connection(
                "127.0.0.1", port, client_config, server_hostname="localhost")
            writer.write(b"first")
            assert await reader.readexactly(5) == b"first"
            session = writer.get_extra_info("ssl_object").session
            assert session is not None and not writer.get_extra_info("ssl_object").session_reused
            writer.close()
            reader, writer = await engine.aio.open_connection(
                "127.0.0.1", port, client_config, server_hostname="localhost",
                session=session, early_data=b"early")
            tls = writer.get_extra_info("ssl_object")
            assert tls.session_reused and writer.get_extra_info("tls").early_data_accepted
            writer.write(b" and late")
            assert await reader.readexactly(14) == b"early and late"
            writer.close()

    asyncio.run(asyncio.wait_for(main(), TIMEOUT))
