"""httpx over the engine's TLS against ``engine s_server --www``, including the hybrid group
X25519MLKEM768 that OpenSSL 3.0 (and so Python's ssl here) cannot offer."""

from __future__ import annotations

import asyncio
import re

import pytest

httpx = pytest.importorskip("httpx")

from engine.httpx import AsyncHTTPTransport, HTTPTransport  # noqa: E402
from engine.pki import TrustStore  # noqa: E402
from engine.tls import ClientConfig  # noqa: E402

TIMEOUT = 20.0


def config(files, **options) -> ClientConfig:
    return ClientConfig(trust=TrustStore.from_pem(files.ca), **options)


def connections_in(stderr: str) -> int:
    """How many handshakes s_server reported (one line per connection)."""
    return len(re.findall(r"^127\.0\.0\.1:\d+: TLSv1\.3", stderr, re.M))


def test_httpx_fetches_pages_with_the_hybrid_group_on_one_connection(files, s_server):
    server = s_server("--cert", files.cert, "--key", files.key, "--www",
                      "--groups", "X25519MLKEM768")
    hybrid = config(files, groups=("X25519MLKEM768",), key_share_groups=("X25519MLKEM768",))
    with httpx.Client(transport=HTTPTransport(hybrid), trust_env=False,
                      timeout=TIMEOUT) as client:
        pages = [client.get("https://localhost:%d/" % server.port) for _ in range(3)]
    assert all(page.status_code == 200 for page in pages)
    assert "<td>X25519MLKEM768</td>" in pages[0].text
    assert "<td>localhost</td>" in pages[0].text  # SNI
    assert server.stop() == 0
    assert connections_in(server.stderr) == 1


def test_async_httpx_fetches_pages_on_one_connection(files, s_server):
    server = s_server("--cert", files.cert, "--key", files.key, "--www")

    async def main():
        async with httpx.AsyncClient(transport=AsyncHTTPTransport(config(files)),
                                     trust_env=False, timeout=TIMEOUT) as client:
            return [await client.get("https://localhost:%d/" % server.port)
                    for _ in range(3)]

    pages = asyncio.run(asyncio.wait_for(main(), TIMEOUT))
    assert [page.status_code for page in pages] == [200, 200, 200]
    assert "TLSv1.3" in pages[2].text
    assert server.stop() == 0
    assert connections_in(server.stderr) == 1
