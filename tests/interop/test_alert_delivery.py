"""A fatal alert reaches a peer that is still sending (RFC 8446 section 6.2).

TLS 1.3 clients finish the handshake before the server has checked their certificate, so a
client may be writing a large request when the server refuses it. A server that then closes its
socket with that input unread makes the kernel answer with RST: the client's write fails with
a reset and it never reads the alert. The adapters close their write side after the alert and
read and drop input for a bounded time instead, so Python's ssl client reports the alert.
"""

from __future__ import annotations

import asyncio
import socket
import ssl

import pytest

from engine import aio
from engine.tls import ServerConfig
from tests._support.peers import ssl_client_context

TIMEOUT = 10.0
REQUEST = b"x" * (16 << 20)  # well over what the socket buffers hold


@pytest.fixture
def generous_linger(monkeypatch):
    """The input is dropped until the client closes; a loaded machine may need long for it."""
    for module in ("engine._driver", "engine._socket", "engine.aio"):
        monkeypatch.setattr(module + ".ALERT_LINGER", 30.0, raising=False)


def refused_client(pki, port: int) -> ssl.SSLError:
    """An ssl client without a certificate that sends REQUEST right after its handshake; the
    error it ends with."""
    context = ssl_client_context(pki.ca_path)
    sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    with context.wrap_socket(sock, server_hostname="localhost") as tls:
        with pytest.raises(ssl.SSLError) as caught:
            tls.sendall(REQUEST)
            tls.recv(100)
    return caught.value


def requiring_config(pki) -> ServerConfig:
    return ServerConfig([pki.servers["p256"].keystore], trust=pki.trust,
                        verify_client="require")


def test_blocking_server_alert_reaches_a_client_still_sending(pki, engine_server,
                                                              generous_linger):
    server = engine_server(requiring_config(pki))
    error = refused_client(pki, server.port)
    assert "certificate required" in str(error).lower()
    assert server.wait_error().alert.name == "certificate_required"


def test_aio_server_alert_reaches_a_client_still_sending(pki, generous_linger):
    errors = []

    async def never_called(reader, writer):
        raise AssertionError("the handshake should fail")

    async def main():
        server = await aio.start_server(never_called, "127.0.0.1", 0, requiring_config(pki),
                                        on_error=lambda peer, exc: errors.append(exc))
        port = server.sockets[0].getsockname()[1]
        async with server:
            return await asyncio.get_running_loop().run_in_executor(
                None, refused_client, pki, port)

    error = asyncio.run(asyncio.wait_for(main(), 60))
    assert "certificate required" in str(error).lower()
    assert errors[0].alert.name == "certificate_required"

