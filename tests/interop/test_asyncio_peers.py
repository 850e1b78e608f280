"""engine.aio against independent stacks: openssl s_server, and asyncio's own ssl streams."""

from __future__ import annotations

import asyncio

from engine import aio
from engine.tls import ClientConfig, ServerConfig
from tests._support.peers import ssl_client_context

TIMEOUT = 10.0


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, TIMEOUT))


def test_aio_client_with_openssl_server(pki, openssl_server):
    server = openssl_server(pki.servers["p384"], "-rev")

    async def main():
        reader, writer = await aio.open_connection(
            "localhost", server.port, ClientConfig(trust=pki.trust, crls=pki.crls))
        assert writer.get_extra_info("signature_scheme") == "ecdsa_secp384r1_sha384"
        writer.write(b"asyncio to openssl\n")
        assert await reader.readline() == b"asyncio to openssl"[::-1] + b"\n"
        writer.close()
        await writer.wait_closed()

    run(main())


def test_asyncio_ssl_client_with_aio_server(pki):
    async def echo(reader, writer):
        while data := await reader.read(65536):
            writer.write(data)
        writer.close()

    async def main():
        server = await aio.start_server(echo, "127.0.0.1", 0,
                                        ServerConfig([pki.servers["ed25519"].keystore]))
        port = server.sockets[0].getsockname()[1]
        async with server:
            context = ssl_client_context(pki.ca_path)
            reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context,
                                                           server_hostname="localhost")
            assert writer.get_extra_info("ssl_object").version() == "TLSv1.3"
            payload = bytes(range(256)) * 1024
            writer.write(payload)
            assert await reader.readexactly(len(payload)) == payload
            writer.close()
            await writer.wait_closed()

    run(main())
