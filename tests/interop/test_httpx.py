"""httpx over the engine's TLS (engine.httpx) against the standard library's HTTPS server."""

from __future__ import annotations

import asyncio

import pytest

httpx = pytest.importorskip("httpx")

from engine.httpx import AsyncHTTPTransport, HTTPTransport  # noqa: E402
from engine.pki import TrustStore  # noqa: E402
from engine.tls import ClientConfig, ServerConfig  # noqa: E402

TIMEOUT = 10.0


def client_config(pki, **options) -> ClientConfig:
    return ClientConfig(trust=pki.trust, crls=pki.crls, **options)


def test_client_gets_and_posts_on_one_kept_alive_connection(pki, https_server):
    transport = HTTPTransport(client_config(pki))
    with httpx.Client(transport=transport, trust_env=False, timeout=TIMEOUT) as client:
        base = "https://localhost:%d" % https_server.port
        first = client.get(base + "/hello")
        second = client.get(base + "/hello")
        posted = client.post(base + "/echo", content=b"p" * 300000)
    assert (first.status_code, first.text, second.text) == (200, "hello 1", "hello 2")
    assert first.http_version == "HTTP/1.1"
    assert posted.content == b"p" * 300000
    assert https_server.connections == 1


def test_async_client_gets_on_one_kept_alive_connection(pki, https_server):
    async def main():
        transport = AsyncHTTPTransport(client_config(pki))
        async with httpx.AsyncClient(transport=transport, trust_env=False,
                                     timeout=TIMEOUT) as client:
            base = "https://localhost:%d" % https_server.port
            responses = [await client.get(base + "/hello") for _ in range(3)]
            responses.append(await client.post(base + "/echo", content=b"q" * 100000))
        return responses

    responses = asyncio.run(asyncio.wait_for(main(), TIMEOUT * 3))
    assert [r.text for r in responses[:3]] == ["hello 1", "hello 2", "hello 3"]
    assert responses[3].content == b"q" * 100000
    assert https_server.connections == 1


def test_a_new_connection_after_the_server_closes_one(pki, https_server):
    transport = HTTPTransport(client_config(pki))
    with httpx.Client(transport=transport, trust_env=False, timeout=TIMEOUT) as client:
        base = "https://localhost:%d" % https_server.port
        assert client.get(base + "/close").headers["connection"] == "close"
        assert client.get(base + "/hello").text == "hello 2"
    assert https_server.connections == 2


def test_a_refused_certificate_is_a_connect_error_that_says_why(pki, https_server,
                                                                 certificates):
    stranger = TrustStore([certificates.stranger.certificate])
    url = "https://localhost:%d/hello" % https_server.port
    with httpx.Client(transport=HTTPTransport(ClientConfig(trust=stranger)), trust_env=False,
                      timeout=TIMEOUT) as client:
        with pytest.raises(httpx.ConnectError, match="does not lead to a trusted CA"):
            client.get(url)
    with httpx.Client(transport=HTTPTransport(client_config(pki)), trust_env=False,
                      timeout=TIMEOUT) as client:
        with pytest.raises(httpx.ConnectError,
                           match="not valid for 'other.example': it holds DNS:localhost"):
            client.get(url, extensions={"sni_hostname": "other.example"})


def test_transports_refuse_a_server_config(pki):
    config = ServerConfig([pki.servers["p256"].keystore])
    with pytest.raises(TypeError, match="ClientConfig"):
        HTTPTransport(config)
    with pytest.raises(TypeError, match="ClientConfig"):
        AsyncHTTPTransport(config)


def test_alpn_offers_what_httpcore_asks_for(pki, engine_server):
    seen = []

    def answer(tls):
        seen.append(tls.selected_alpn_protocol())
        from engine.cli.s_server import serve_www

        serve_www(tls)

    server = engine_server(ServerConfig([pki.servers["p256"].keystore],
                                        alpn_protocols=("h2", "http/1.1")), answer)
    with httpx.Client(transport=HTTPTransport(client_config(pki)), trust_env=False,
                      timeout=TIMEOUT) as client:
        response = client.get("https://localhost:%d/" % server.port)
    assert response.status_code == 200 and "http/1.1" in response.text
    assert seen == ["http/1.1"]
