"""TLSSocket has what ``ssl.SSLSocket`` users call, with the answers ``ssl`` gives.

Each fact is checked against Python's ssl on the same peer; the HTTP clients of the standard
library and urllib3 run over a TLSSocket unmodified but for the line that opens the socket.
"""

from __future__ import annotations

import http.client
import socket
import ssl

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

import engine
from engine.blocking import TLSSocket
from engine.tls import ClientConfig, ClientConnection, ServerConfig
from tests._support.peers import echo, ssl_client_context, ssl_server_context

TIMEOUT = 10.0


def client_config(pki, **options) -> ClientConfig:
    return ClientConfig(trust=pki.trust, crls=pki.crls, **options)


def ssl_connect(port: int, context: ssl.SSLContext) -> ssl.SSLSocket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    return context.wrap_socket(sock, server_hostname="localhost")


# --- what the handshake agreed, as ssl says it ---------------------------------------------------


def test_getpeercert_and_cipher_are_what_ssl_gives_for_the_same_server(pki, ssl_server):
    server = ssl_server(ssl_server_context(pki.servers["p384"]))
    with ssl_connect(server.port, ssl_client_context(pki.ca_path)) as reference:
        expected = (reference.getpeercert(), reference.getpeercert(binary_form=True),
                    reference.cipher(), reference.version(), reference.shared_ciphers())
    with engine.connect("localhost", server.port, client_config(pki), timeout=TIMEOUT) as tls:
        assert tls.getpeercert() == expected[0]
        assert tls.getpeercert(binary_form=True) == expected[1]
        assert tls.cipher() == expected[2]  # the server's preference decides: the same suite
        assert tls.version() == expected[3] == "TLSv1.3"
        assert tls.shared_ciphers() is None is expected[4]  # None on a client, as ssl has it
        assert tls.compression() is None
        assert tls.server_hostname == "localhost" and not tls.server_side


def test_getpeercert_is_empty_when_the_certificate_was_not_verified(pki, ssl_server):
    server = ssl_server(ssl_server_context(pki.servers["p256"]))
    with engine.connect("localhost", server.port, ClientConfig(verify=False),
                        timeout=TIMEOUT) as tls:
        assert tls.getpeercert() == {}  # as ssl with CERT_NONE
        der = pki.servers["p256"].certificate.public_bytes(Encoding.DER)
        assert tls.getpeercert(binary_form=True) == der


def test_getpeercert_before_the_handshake_is_a_value_error(pki):
    a, b = socket.socketpair()
    with a, b:
        tls = TLSSocket(a, ClientConnection(client_config(pki), "localhost"))
        with pytest.raises(ValueError, match="handshake not done"):
            tls.getpeercert()
        assert tls.version() is None and tls.cipher() is None


def test_server_side_facts_match_ssl_for_an_ssl_client(pki, engine_server):
    seen = {}

    def record(tls):
        seen.update(shared=tls.shared_ciphers(), peer=tls.getpeercert(), side=tls.server_side,
                    alpn=tls.selected_alpn_protocol(), hostname=tls.server_hostname,
                    reused=tls.session_reused, session=tls.session)
        echo(tls)

    config = ServerConfig([pki.servers["p256"].keystore], trust=pki.trust,
                          verify_client="require", alpn_protocols=("h2", "http/1.1"))
    server = engine_server(config, record)
    context = ssl_client_context(pki.ca_path, identity=pki.client)
    context.set_alpn_protocols(["http/1.1"])
    with ssl_connect(server.port, context) as tls:
        tls.sendall(b"x")
        assert tls.recv(1) == b"x"
        offered = {cipher["name"] for cipher in context.get_ciphers()
                   if cipher["protocol"] == "TLSv1.3"}
        ssl_reference = tls.getpeercert()  # ssl's dict shape, for the shape of ours
    assert {name for name, _, _ in seen["shared"]} == offered & set(config.cipher_suites)
    assert all(protocol == "TLSv1.3" for _, protocol, _ in seen["shared"])
    assert seen["peer"]["subject"] == ((("commonName", "alice"),),)
    assert set(seen["peer"]) >= {"subject", "issuer", "version", "serialNumber", "notBefore",
                                 "notAfter"} and set(ssl_reference) >= set(seen["peer"]) - {
                                     "subjectAltName"}
    assert seen["side"] is True and seen["hostname"] is None
    assert seen["alpn"] == "http/1.1"
    assert seen["reused"] is False and seen["session"] is None


# --- socket calls -------------------------------------------------------------------------------


def test_recv_into_send_pending_and_the_context_manager(pki, ssl_server):
    server = ssl_server(ssl_server_context(pki.servers["p256"]))
    with engine.connect("localhost", server.port, client_config(pki), timeout=TIMEOUT) as tls:
        assert tls.send(b"0123456789") == 10
        buffer = bytearray(4)
        received = bytearray()
        while len(received) < 10:
            count = tls.recv_into(buffer)
            assert count
            received += buffer[:count]
            if len(received) < 10 and count == 4:
                assert tls.pending() >= 0
        assert bytes(received) == b"0123456789"
        with pytest.raises(ValueError):
            tls.recv(10, socket.MSG_PEEK)
    assert tls.closed


def test_unwrap_returns_the_socket_for_plaintext_after_both_close_notifies(pki, ssl_server):
    def end_tls(tls):  # the ssl side of a STARTTLS-like protocol that leaves TLS
        assert tls.recv(100) == b"end tls"
        plain = tls.unwrap()
        assert plain.recv(100) == b"plain ping"
        plain.sendall(b"plain pong")

    server = ssl_server(ssl_server_context(pki.servers["p256"]), end_tls)
    tls = engine.connect("localhost", server.port, client_config(pki), timeout=TIMEOUT)
    tls.sendall(b"end tls")
    plain = tls.unwrap()
    with plain:
        assert isinstance(plain, socket.socket)
        plain.sendall(b"plain ping")
        assert plain.recv(100) == b"plain pong"
    assert tls.closed
    with pytest.raises(OSError):
        tls.sendall(b"after unwrap")
    assert server.errors == []


# --- HTTP clients over a TLSSocket --------------------------------------------------------------


class EngineHTTPSConnection(http.client.HTTPConnection):
    """http.client over the engine: only ``connect`` differs from HTTPConnection."""

    default_port = 443

    def __init__(self, host, port=None, *, config, **options):
        super().__init__(host, port, **options)
        self.config = config

    def connect(self):
        self.sock = engine.connect(self.host, self.port, self.config, timeout=self.timeout)


def test_http_client_requests_keep_alive_and_read_a_body_after_close(pki, https_server):
    connection = EngineHTTPSConnection("localhost", https_server.port,
                                       config=client_config(pki), timeout=TIMEOUT)
    try:
        bodies = []
        for _ in range(2):
            connection.request("GET", "/hello")
            response = connection.getresponse()
            assert response.status == 200 and not response.will_close
            bodies.append(response.read())
        payload = bytes(range(256)) * 1024
        connection.request("POST", "/echo", body=payload)
        assert connection.getresponse().read() == payload
        assert https_server.connections == 1  # one TLS connection for all three
        connection.request("GET", "/close")
        response = connection.getresponse()  # closes the connection: the file reads on
        assert response.will_close and connection.sock is None
        assert response.read() == b"hello 4"
        response.close()
    finally:
        connection.close()
    assert bodies == [b"hello 1", b"hello 2"]


def test_http_client_response_over_a_tls_socket_directly(pki, https_server):
    with engine.connect("localhost", https_server.port, client_config(pki),
                        timeout=TIMEOUT) as tls:
        tls.sendall(b"GET /hello HTTP/1.1\r\nHost: localhost\r\n\r\n")
        response = http.client.HTTPResponse(tls)
        response.begin()
        assert (response.status, response.read()) == (200, b"hello 1")
        response.close()
        with tls.makefile("rwb") as stream:  # a response read whole through a file
            stream.write(b"GET /hello HTTP/1.1\r\nHost: localhost\r\n\r\n")
            stream.flush()
            assert read_response(stream) == (b"HTTP/1.1 200 OK\r\n", b"hello 2")
        tls.sendall(b"GET /hello HTTP/1.1\r\nHost: localhost\r\n\r\n")
        with tls.makefile("r", encoding="latin-1", newline="") as text:
            assert read_response(text) == ("HTTP/1.1 200 OK\r\n", "hello 3")


def read_response(stream):
    """Status line and body of one response with Content-Length, from a file object."""
    status = stream.readline()
    length = 0
    while True:
        line = stream.readline()
        if line.strip() == line[:0]:
            break
        name, _, value = line.partition(":" if isinstance(line, str) else b":")
        if name.strip().lower() in ("content-length", b"content-length"):
            length = int(value)
    return status, stream.read(length)


def test_urllib3_pool_runs_over_tls_sockets_and_keeps_them_alive(pki, https_server):
    urllib3 = pytest.importorskip("urllib3")
    config = client_config(pki)

    class EngineConnection(urllib3.connection.HTTPConnection):
        default_port = 443

        def _new_conn(self):
            return engine.connect(self._dns_host, self.port, config, server_name=self.host,
                                  timeout=TIMEOUT)

    class EnginePool(urllib3.HTTPConnectionPool):
        ConnectionCls = EngineConnection

    with EnginePool("localhost", https_server.port, maxsize=1, retries=False) as pool:
        for expected in (b"hello 1", b"hello 2", b"hello 3"):
            response = pool.request("GET", "/hello")
            assert (response.status, response.data) == (200, expected)
        streamed = pool.request("POST", "/echo", body=b"z" * 200000, preload_content=False)
        assert b"".join(streamed.stream(8192)) == b"z" * 200000
        streamed.release_conn()
        assert pool.num_connections == 1
    assert https_server.connections == 1
