"""The blocking and asyncio adapters, and the httpx transports."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import httpx

import engine
from engine import aio
from engine.httpx import AsyncHTTPTransport, HTTPTransport

config = engine.ClientConfig(trust="ca.pem", keylog_file=False)
server_config = engine.ServerConfig(certificates=[("server.crt", "server.key")])

with engine.connect("localhost", 4433, config, timeout=10) as tls:
    tls.sendall(b"GET / HTTP/1.0\r\n\r\n")
    reply: bytes = tls.recv(65536)
    version: str | None = tls.version()
    cipher: tuple[str, str, int] | None = tls.cipher()
    der: bytes | None = tls.getpeercert(binary_form=True)
    fields: dict[str, Any] | None = tls.getpeercert()
    session: engine.Session | None = tls.session


def echo(sock: engine.TLSSocket) -> None:
    sock.sendall(sock.recv(1024))


stop = threading.Event()
accepted: int = engine.serve("localhost", 0, server_config, echo, stop=stop, max_connections=1)


async def talk() -> bytes:
    reader, writer = await aio.open_connection("localhost", 4433, config)
    writer.write(b"ping")
    answer: bytes = await reader.read(4)
    writer.close()
    await writer.wait_closed()
    return answer


async def serve_echo() -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(await reader.read(1024))
        writer.close()

    server: asyncio.Server = await aio.start_server(handle, "localhost", 0, server_config)
    async with server:
        transport, protocol = await aio.create_connection(asyncio.Protocol, "localhost",
                                                          server.sockets[0].getsockname()[1],
                                                          config)
        same: asyncio.Protocol = protocol
        peercert: object = transport.get_extra_info("peercert")
        transport.close()


with httpx.Client(transport=HTTPTransport(config), trust_env=False) as client:
    status: int = client.get("https://localhost:4433/").status_code


async def fetch() -> int:
    async with httpx.AsyncClient(transport=AsyncHTTPTransport(config)) as client:
        return (await client.get("https://localhost:4433/")).status_code
