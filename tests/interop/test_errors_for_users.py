"""Errors a user can act on: what they say, what they are, where they are reported."""

from __future__ import annotations

import asyncio
import http.client
import logging
import socket
import threading

import pytest

import engine
from engine import aio
from engine.blocking import Server
from engine.errors import ProtocolError, TLSError
from engine.pki import TrustStore
from engine.tls import ClientConfig, ServerConfig
from tests._support.peers import ssl_server_context

TIMEOUT = 10.0


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, TIMEOUT * 2))


# --- messages -----------------------------------------------------------------------------------


def test_a_name_mismatch_names_the_name_expected_and_the_names_held(pki, ssl_server):
    server = ssl_server(ssl_server_context(pki.servers["p256"]))
    with pytest.raises(ProtocolError) as caught:
        engine.connect("127.0.0.1", server.port, ClientConfig(trust=pki.trust),
                       server_name="www.example.org", timeout=TIMEOUT)
    message = str(caught.value)
    assert message.startswith("the peer's certificate is not valid for 'www.example.org': "
                              "it holds DNS:localhost, IP:127.0.0.1")
    assert caught.value.reason == "name_mismatch"


def test_an_untrusted_chain_is_said_in_a_plain_sentence_first(pki, ssl_server):
    server = ssl_server(ssl_server_context(pki.stranger))
    with pytest.raises(ProtocolError) as caught:
        engine.connect("localhost", server.port, ClientConfig(trust=pki.trust),
                       timeout=TIMEOUT)
    # The verifier's own words (OpenSSL's or cryptography's) come after, in parentheses.
    assert str(caught.value).startswith(
        "the peer's certificate chain does not lead to a trusted CA (")


class PlainHTTPServer:
    """A TCP server that answers whatever comes with an HTTP error, as a web server on a TLS
    client's port would."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._answer, daemon=True)
        self.thread.start()

    def _answer(self):
        sock, _ = self.listener.accept()
        with sock:
            sock.settimeout(TIMEOUT)
            sock.recv(65536)
            sock.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
                         b"Connection: close\r\n\r\n")

    def close(self):
        self.thread.join(TIMEOUT)
        self.listener.close()


def test_a_plaintext_http_server_is_said_not_to_speak_tls():
    server = PlainHTTPServer()
    try:
        with pytest.raises(ProtocolError,
                           match=r"^the peer does not speak TLS \(it sent "
                                 r"'HTTP/1\.1 400 Bad Request \.\.\.'\)$"):
            engine.connect("127.0.0.1", server.port, ClientConfig(verify=False),
                           timeout=TIMEOUT)
    finally:
        server.close()

    server = PlainHTTPServer()

    async def main():
        await aio.open_connection("127.0.0.1", server.port, ClientConfig(verify=False))

    try:
        with pytest.raises(ProtocolError, match="does not speak TLS .*'HTTP/1.1 400 Bad"):
            run(main())
    finally:
        server.close()


def plain_http_request(port: int) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    try:
        connection.request("GET", "/index.html")
        with pytest.raises((http.client.HTTPException, OSError)):
            connection.getresponse().read()
    finally:
        connection.close()


def test_a_plaintext_http_client_is_said_not_to_speak_tls(pki, engine_server):
    server = engine_server(ServerConfig([pki.servers["p256"].keystore]))
    plain_http_request(server.port)
    error = server.wait_error()
    assert str(error) == "the peer does not speak TLS (it sent 'GET /index.html HTTP/1.1 ...')"
    assert error.alert.name in ("unexpected_message", "record_overflow")


# --- kinds --------------------------------------------------------------------------------------


def test_tls_errors_are_oserrors_as_ssl_errors_are(pki, ssl_server):
    server = ssl_server(ssl_server_context(pki.stranger))
    try:
        engine.connect("localhost", server.port, ClientConfig(trust=pki.trust),
                       timeout=TIMEOUT)
    except OSError as exc:  # what code around network I/O catches
        caught = exc
    assert isinstance(caught, TLSError) and caught.errno is None
    assert str(caught).startswith("the peer's certificate chain")


def test_the_adapters_refuse_a_config_of_the_other_side_at_once(pki):
    server_config = ServerConfig([pki.servers["p256"].keystore])
    client_config = ClientConfig(trust=pki.trust)
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        with pytest.raises(TypeError, match="connect\\(\\) needs a ClientConfig; a "
                                            "ServerConfig is for the server side"):
            engine.connect("127.0.0.1", port, server_config, timeout=TIMEOUT)
    with pytest.raises(TypeError, match="needs a ServerConfig; a ClientConfig"):
        Server("127.0.0.1", 0, client_config, lambda tls: None)
    with pytest.raises(TypeError, match="needs a ServerConfig"):
        engine.serve("127.0.0.1", 0, client_config, lambda tls: None)

    async def main():
        with pytest.raises(TypeError, match="needs a ClientConfig"):
            await aio.open_connection("127.0.0.1", port, server_config)
        with pytest.raises(TypeError, match="needs a ServerConfig"):
            await aio.start_server(lambda r, w: None, "127.0.0.1", 0, client_config)
        with pytest.raises(TypeError, match="needs a ClientConfig"):
            await aio.create_connection(asyncio.Protocol, "127.0.0.1", port, server_config)
        with pytest.raises(TypeError, match="needs a ServerConfig"):
            await aio.create_server(asyncio.Protocol, "127.0.0.1", 0, client_config)
        with pytest.raises(TypeError, match="needs a ClientConfig, not dict"):
            await aio.open_connection("127.0.0.1", port, {"trust": None})

    run(main())


# --- reporting ----------------------------------------------------------------------------------


def test_a_failed_handshake_on_the_blocking_server_is_logged_by_default(pki, caplog,
                                                                         certificates):
    server = Server("127.0.0.1", 0, ServerConfig([pki.servers["p256"].keystore]),
                    lambda tls: None)
    stop = threading.Event()
    thread = threading.Thread(target=server.serve_forever, kwargs={"stop": stop},
                              daemon=True)
    stranger = TrustStore([certificates.stranger.certificate])
    with caplog.at_level(logging.INFO, logger="engine"):
        thread.start()
        try:
            with pytest.raises(ProtocolError):
                engine.connect("localhost", server.port, ClientConfig(trust=stranger),
                               timeout=TIMEOUT)
            for _ in range(500):
                if caplog.records:
                    break
                threading.Event().wait(0.02)
        finally:
            stop.set()
            thread.join(TIMEOUT)
    record = caplog.records[0]
    assert record.name == "engine" and record.levelno == logging.WARNING
    assert "TLS handshake with 127.0.0.1:" in record.getMessage()
    assert "unknown_ca" in record.getMessage()


def test_a_failed_handshake_on_the_aio_server_is_logged_by_default(pki, caplog, certificates):
    stranger = TrustStore([certificates.stranger.certificate])

    async def main():
        server = await aio.start_server(lambda r, w: None, "127.0.0.1", 0,
                                        ServerConfig([pki.servers["p256"].keystore]))
        port = server.sockets[0].getsockname()[1]
        async with server:
            with pytest.raises(ProtocolError):
                await aio.open_connection("localhost", port, ClientConfig(trust=stranger))
            for _ in range(500):
                if caplog.records:
                    break
                await asyncio.sleep(0.02)

    with caplog.at_level(logging.INFO, logger="engine"):
        run(main())
    record = caplog.records[0]
    assert record.name == "engine" and record.levelno == logging.WARNING
    assert "unknown_ca" in record.getMessage()
