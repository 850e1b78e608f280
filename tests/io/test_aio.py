"""engine.aio: TLS streams for asyncio, mirroring asyncio.open_connection and start_server."""

from __future__ import annotations

import asyncio

import pytest

from engine import aio
from engine.errors import PeerAlertError, ProtocolError
from engine.tls import ClientConfig, HandshakeComplete, ServerConfig

TIMEOUT = 10.0


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, TIMEOUT))


async def echo(reader, writer):
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    finally:
        writer.close()


async def serving(config, callback=echo, **options):
    server = await aio.start_server(callback, "127.0.0.1", 0, config, **options)
    return server, server.sockets[0].getsockname()[1]


def test_open_connection_and_start_server_exchange_data(creds):
    async def main():
        server, port = await serving(ServerConfig([creds.server]))
        async with server:
            reader, writer = await aio.open_connection("localhost", port,
                                                       ClientConfig(trust=creds.trust))
            writer.write(b"hello over asyncio")
            await writer.drain()
            assert await reader.readexactly(18) == b"hello over asyncio"
            handshake = writer.get_extra_info("tls")
            assert isinstance(handshake, HandshakeComplete)
            assert writer.get_extra_info("cipher_suite") == handshake.cipher_suite
            assert writer.get_extra_info("peer_chain")[0] == creds.server.certificate
            assert writer.get_extra_info("peername")[1] == port
            writer.close()
            await writer.wait_closed()

    run(main())


def test_reader_sees_end_of_file_after_the_server_closes(creds):
    async def greet(reader, writer):
        writer.write(b"greetings")
        await writer.drain()
        writer.close()

    async def main():
        server, port = await serving(ServerConfig([creds.server]), greet)
        async with server:
            reader, writer = await aio.open_connection("localhost", port,
                                                       ClientConfig(trust=creds.trust))
            assert await reader.read() == b"greetings"
            assert reader.at_eof()
            writer.close()

    run(main())


def test_many_clients_at_once(creds):
    async def client(port, index):
        reader, writer = await aio.open_connection("localhost", port,
                                                   ClientConfig(trust=creds.trust))
        message = b"client %d " % index * 100
        writer.write(message)
        assert await reader.readexactly(len(message)) == message
        writer.close()
        await writer.wait_closed()
        return index

    async def main():
        server, port = await serving(ServerConfig([creds.server]))
        async with server:
            done = await asyncio.gather(*(client(port, i) for i in range(8)))
        assert done == list(range(8))

    run(main())


def test_failed_handshake_raises_and_the_server_sees_the_alert(creds):
    async def main():
        errors = []
        server, port = await serving(ServerConfig([creds.server]),
                                     on_error=lambda peer, exc: errors.append(exc))
        async with server:
            with pytest.raises(ProtocolError) as caught:
                await aio.open_connection("localhost", port,
                                          ClientConfig(trust=creds.stranger_trust))
            assert caught.value.alert.name == "unknown_ca"
            for _ in range(200):
                if errors:
                    break
                await asyncio.sleep(0.01)
        assert isinstance(errors[0], PeerAlertError)
        assert errors[0].description.name == "unknown_ca"

    run(main())


def test_key_update_through_the_writer_transport(creds):
    async def main():
        server, port = await serving(ServerConfig([creds.server]))
        async with server:
            reader, writer = await aio.open_connection("localhost", port,
                                                       ClientConfig(trust=creds.trust))
            for request_peer in (True, False):
                writer.transport.key_update(request_peer=request_peer)
                writer.write(b"after update")
                assert await reader.readexactly(12) == b"after update"
            writer.close()

    run(main())


def test_mutual_tls_client_certificate_reaches_the_callback(creds):
    subjects = []

    async def record(reader, writer):
        chain = writer.get_extra_info("peer_chain")
        subjects.append(chain[0].subject.rfc4514_string())
        await echo(reader, writer)

    async def main():
        config = ServerConfig([creds.server], trust=creds.trust, verify_client="require")
        server, port = await serving(config, record)
        async with server:
            reader, writer = await aio.open_connection(
                "localhost", port, ClientConfig(trust=creds.trust, certificate=creds.client))
            writer.write(b"me")
            assert await reader.readexactly(2) == b"me"
            writer.close()

    run(main())
    assert subjects == ["CN=alice"]


def test_server_drops_a_client_that_never_finishes_the_handshake(creds):
    async def main():
        errors = []
        server, port = await serving(ServerConfig([creds.server]), handshake_timeout=0.2,
                                     on_error=lambda peer, exc: errors.append(exc))
        async with server:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            assert await asyncio.wait_for(reader.read(), TIMEOUT) == b""
            writer.close()
        assert isinstance(errors[0], TimeoutError)

    run(main())


def test_large_payload_both_ways_with_flow_control(creds):
    payload = bytes(range(256)) * 16384  # 4 MiB, more than the transport buffers hold

    async def main():
        server, port = await serving(ServerConfig([creds.server]))
        async with server:
            reader, writer = await aio.open_connection("localhost", port,
                                                       ClientConfig(trust=creds.trust))

            async def send():
                for start in range(0, len(payload), 1 << 18):
                    writer.write(payload[start:start + (1 << 18)])
                    await writer.drain()

            sending = asyncio.ensure_future(send())
            received = await reader.readexactly(len(payload))
            await sending
            assert received == payload
            writer.close()

    run(main())


def test_server_refusal_after_the_client_finished_surfaces_on_read(creds):
    async def main():
        config = ServerConfig([creds.server], trust=creds.trust, verify_client="require")
        server, port = await serving(config)
        async with server:
            # TLS 1.3: the client is done before the server has seen its (empty) certificate.
            reader, writer = await aio.open_connection("localhost", port,
                                                       ClientConfig(trust=creds.trust))
            writer.write(b"let me in")
            with pytest.raises(PeerAlertError) as caught:
                await reader.read(100)
            assert caught.value.description.name == "certificate_required"
            writer.close()

    run(main())


def test_open_connection_gives_up_on_a_silent_server(creds):
    async def main():
        async def silent(reader, writer):
            await reader.read()

        server = await asyncio.start_server(silent, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            with pytest.raises((asyncio.TimeoutError, TimeoutError)):
                await aio.open_connection("127.0.0.1", port, ClientConfig(trust=creds.trust),
                                          handshake_timeout=0.2)

    run(main())
