"""Closing one direction at a time (RFC 8446 section 6.1), against Python's ssl.

close_notify closes the sender's direction only: the receiver reads to its end and may still
send its reply before closing its own. A transport that ends without close_notify is told apart
from that orderly end, as ssl tells SSLEOFError from SSLZeroReturnError. The ssl peers are
SSLObjects over memory BIOs, the only way Python's ssl sends close_notify and keeps reading.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import pytest

import engine
from engine import aio
from engine.errors import TLSEOFError
from engine.tls import ClientConfig, ServerConfig
from tests._support.peers import BioPeer, ssl_client_context, ssl_server_context

TIMEOUT = 10.0


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, TIMEOUT))


def read_to_end(tls) -> bytes:
    received = bytearray()
    while True:
        data = tls.recv(65536)
        if not data:
            return bytes(received)
        received += data


def ssl_client(pki, port: int):
    """A BioPeer client connected to 127.0.0.1:port, handshake done."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    peer = BioPeer(sock, ssl_client_context(pki.ca_path), server_side=False,
                           server_hostname="localhost")
    peer.handshake()
    return peer


class SSLListener:
    """One connection accepted on 127.0.0.1:0 and served by ``serve(BioPeer)`` in a thread."""

    def __init__(self, pki, serve):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.result = []
        context = ssl_server_context(pki.servers["p256"])

        def main():
            sock, _ = self.listener.accept()
            peer = BioPeer(sock, context, server_side=True)
            try:
                peer.handshake()
                self.result.append(serve(peer))
            except BaseException as exc:  # reported by outcome()
                self.result.append(exc)
            finally:
                peer.close()

        self.thread = threading.Thread(target=main, daemon=True)
        self.thread.start()

    def outcome(self):
        self.thread.join(TIMEOUT)
        self.listener.close()
        assert self.result, "the ssl peer did not finish"
        if isinstance(self.result[0], BaseException):
            raise self.result[0]
        return self.result[0]


# --- blocking -----------------------------------------------------------------------------------


def test_blocking_server_replies_after_the_clients_close_notify(pki, engine_server):
    def answer_whole_request(tls):
        request = read_to_end(tls)  # ends at the client's close_notify
        tls.sendall(b"reply to " + request)

    server = engine_server(ServerConfig([pki.servers["p256"].keystore]), answer_whole_request)
    client = ssl_client(pki, server.port)
    try:
        client.write(b"the whole request")
        client.send_close_notify()
        assert client.read_to_end() == (b"reply to the whole request", "close_notify")
    finally:
        client.close()
    assert server.errors == []


def test_blocking_client_replies_after_the_servers_close_notify(pki):
    def ask_then_listen(peer):
        peer.write(b"question")
        peer.send_close_notify()
        return peer.read_to_end()

    listener = SSLListener(pki, ask_then_listen)
    with engine.connect("localhost", listener.port, ClientConfig(trust=pki.trust),
                        timeout=TIMEOUT) as tls:
        assert read_to_end(tls) == b"question"
        tls.sendall(b"answer after your close_notify")
    assert listener.outcome() == (b"answer after your close_notify", "close_notify")


def test_blocking_client_tells_a_transport_close_from_close_notify(pki):
    def write_then_drop(peer):
        peer.write(b"partial")
        peer.sock.shutdown(socket.SHUT_RDWR)  # no close_notify

    listener = SSLListener(pki, write_then_drop)
    with engine.connect("localhost", listener.port, ClientConfig(trust=pki.trust),
                        timeout=TIMEOUT) as tls:
        assert tls.recv_exactly(7) == b"partial"
        with pytest.raises(TLSEOFError, match="without close_notify"):
            tls.recv(100)
        assert tls.recv(100) == b""  # reported once
    listener.outcome()

    def write_then_close(peer):
        peer.write(b"complete")
        peer.send_close_notify()

    listener = SSLListener(pki, write_then_close)
    with engine.connect("localhost", listener.port, ClientConfig(trust=pki.trust),
                        timeout=TIMEOUT) as tls:
        assert read_to_end(tls) == b"complete"
    listener.outcome()


def test_blocking_server_tells_a_transport_close_from_close_notify(pki, engine_server):
    ends = []

    def record_end(tls):
        try:
            ends.append(("close_notify", read_to_end(tls)))
        except TLSEOFError:
            ends.append(("eof", None))

    # No tickets: a client that closes at once could make their write fail before the handler.
    server = engine_server(ServerConfig([pki.servers["p256"].keystore], ticket_count=0),
                           record_end)
    # ssl.SSLSocket.close() sends no close_notify: a transport close.
    context = ssl_client_context(pki.ca_path)
    with context.wrap_socket(socket.create_connection(("127.0.0.1", server.port),
                                                      timeout=TIMEOUT),
                             server_hostname="localhost") as tls:
        tls.sendall(b"x")
    client = ssl_client(pki, server.port)
    client.write(b"y")
    client.send_close_notify()
    assert client.read_to_end() == (b"", "close_notify")
    client.close()
    deadline = time.monotonic() + TIMEOUT  # both handlers end on their own: wait for them
    while len(ends) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    server.stop()
    assert sorted(ends, key=str) == [("close_notify", b"y"), ("eof", None)]


# --- asyncio ------------------------------------------------------------------------------------


def test_aio_server_replies_after_the_clients_close_notify(pki):
    async def answer_whole_request(reader, writer):
        request = await reader.read()  # to the client's close_notify
        writer.write(b"reply to " + request)
        await writer.drain()
        writer.close()

    async def main():
        server = await aio.start_server(answer_whole_request, "127.0.0.1", 0,
                                        ServerConfig([pki.servers["p256"].keystore]))
        port = server.sockets[0].getsockname()[1]
        async with server:
            def client():
                peer = ssl_client(pki, port)
                try:
                    peer.write(b"the whole request")
                    peer.send_close_notify()
                    return peer.read_to_end()
                finally:
                    peer.close()

            return await asyncio.get_running_loop().run_in_executor(None, client)

    assert run(main()) == (b"reply to the whole request", "close_notify")


def test_aio_client_replies_after_the_servers_close_notify(pki):
    def ask_then_listen(peer):
        peer.write(b"question")
        peer.send_close_notify()
        return peer.read_to_end()

    listener = SSLListener(pki, ask_then_listen)

    async def main():
        reader, writer = await aio.open_connection("localhost", listener.port,
                                                   ClientConfig(trust=pki.trust))
        assert await reader.read() == b"question"
        assert reader.at_eof()
        writer.write(b"answer after your close_notify")
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    run(main())
    assert listener.outcome() == (b"answer after your close_notify", "close_notify")


def test_aio_write_eof_sends_close_notify_and_keeps_reading(pki):
    def listen_then_answer(peer):
        request, how = peer.read_to_end()
        peer.write(b"%s, ended by %s" % (request, how.encode()))
        peer.send_close_notify()

    listener = SSLListener(pki, listen_then_answer)

    async def main():
        reader, writer = await aio.open_connection("localhost", listener.port,
                                                   ClientConfig(trust=pki.trust))
        assert writer.can_write_eof()
        writer.write(b"request")
        writer.write_eof()
        assert await reader.read() == b"request, ended by close_notify"
        writer.close()
        await writer.wait_closed()

    run(main())
    listener.outcome()


def test_aio_reader_tells_a_transport_close_from_close_notify(pki):
    def write_then_drop(peer):
        peer.write(b"partial")
        peer.sock.shutdown(socket.SHUT_RDWR)

    def write_then_close(peer):
        peer.write(b"complete")
        peer.send_close_notify()

    async def read_all(port):
        reader, writer = await aio.open_connection("localhost", port,
                                                   ClientConfig(trust=pki.trust))
        try:
            return await reader.read()
        finally:
            writer.close()

    listener = SSLListener(pki, write_then_drop)
    with pytest.raises(TLSEOFError, match="without close_notify"):
        run(read_all(listener.port))
    listener.outcome()
    listener = SSLListener(pki, write_then_close)
    assert run(read_all(listener.port)) == b"complete"
    listener.outcome()
