"""engine.asgi: any ASGI application over engine's TLS, with uvicorn's h11 protocol."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import ssl
import threading

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from engine.asgi import Server, bind_sockets
from engine.pki import TrustStore
from engine.tls import ServerConfig

from .conftest import eventually

httpx = pytest.importorskip("httpx")


async def echo_scope(scope, receive, send):
    """Answers with the parts of the scope the tests look at."""
    if scope["type"] != "http":
        return
    tls = {k: v for k, v in scope["extensions"]["tls"].items() if k != "peer_chain"}
    body = json.dumps({"scheme": scope["scheme"], "tls": tls}).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})


@pytest.fixture(scope="module")
def ca(certificates):
    return certificates.root


@contextlib.contextmanager
def running(config, host="localhost"):
    server = Server(echo_scope, config, host, 0)
    thread = threading.Thread(target=asyncio.run, args=(server.serve(),), daemon=True)
    thread.start()
    while not server.started and thread.is_alive():
        thread.join(0.02)
    try:
        yield server
    finally:
        server.stop()
        thread.join(30)


def context_for(ca, tmp_path=None, client=None) -> ssl.SSLContext:
    context = ssl.create_default_context(cadata=ca.certificate.public_bytes(Encoding.PEM).decode())
    if client is not None:
        cert, key = tmp_path / "client.pem", tmp_path / "client.key"
        cert.write_bytes(client.certificate.public_bytes(Encoding.PEM))
        key.write_bytes(client.private_key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8,
                                                         NoEncryption()))
        context.load_cert_chain(cert, key)
    return context


def test_the_scope_is_https_with_the_tls_facts_of_the_connection(ca):
    config = ServerConfig(certificates=[ca.issue_server(["localhost"]).keystore()],
                          alpn_protocols=["http/1.1"])
    with running(config) as server:
        with httpx.Client(verify=context_for(ca)) as http:
            response = http.get("https://localhost:%d/" % server.addresses[0][1])
            ssl_object = response.extensions["network_stream"].get_extra_info("ssl_object")
            suite, alpn = ssl_object.cipher()[0], ssl_object.selected_alpn_protocol()
    seen = response.json()
    assert seen["scheme"] == "https"
    assert seen["tls"]["tls_version"] == 0x0304
    assert seen["tls"]["cipher_suite_name"] == suite
    assert seen["tls"]["server_name"] == "localhost"
    assert seen["tls"]["alpn_protocol"] == "http/1.1" == alpn
    assert seen["tls"]["client_cert_chain"] == [] and seen["tls"]["resumed"] is False
    assert server.stats.snapshot()["handshakes"] == 1


def test_a_client_certificate_is_in_the_scope(ca, tmp_path):
    client = ca.issue_client("carol")
    config = ServerConfig(certificates=[ca.issue_server(["localhost"]).keystore()],
                          trust=TrustStore([ca.certificate]), verify_client="require")
    with running(config) as server:
        with httpx.Client(verify=context_for(ca, tmp_path, client)) as http:
            seen = http.get("https://localhost:%d/" % server.addresses[0][1]).json()
    assert seen["tls"]["client_cert_name"] == "CN=carol"
    assert seen["tls"]["client_cert_chain"][0] == \
        client.certificate.public_bytes(Encoding.PEM).decode()


def test_a_failed_handshake_is_counted_by_its_alert(ca):
    config = ServerConfig(certificates=[ca.issue_server(["localhost"]).keystore()],
                          trust=TrustStore([ca.certificate]), verify_client="require")
    with running(config) as server:
        with httpx.Client(verify=context_for(ca)) as http, pytest.raises(httpx.HTTPError):
            http.get("https://localhost:%d/" % server.addresses[0][1])
        eventually(lambda: server.stats.snapshot()["failed_handshakes"] == 1,
                   "the server counts the failed handshake")
        stats = server.stats.snapshot()
    assert stats["handshakes"] == 0
    assert stats["alerts"] == {"sent certificate_required": 1}


def test_localhost_listens_on_ipv4_and_ipv6_on_one_port():
    sockets = bind_sockets("localhost", 0)
    try:
        addresses = sorted(sock.getsockname()[0] for sock in sockets)
        ports = {sock.getsockname()[1] for sock in sockets}
    finally:
        for sock in sockets:
            sock.close()
    if not socket.has_ipv6:
        assert addresses == ["127.0.0.1"]
    else:
        assert addresses == ["127.0.0.1", "::1"]
    assert len(ports) == 1


def test_the_any_address_is_one_dual_stack_socket(ca):
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    config = ServerConfig(certificates=[ca.issue_server(["127.0.0.1", "::1"]).keystore()])
    with running(config, host="::") as server:
        port = server.addresses[0][1]
        with httpx.Client(verify=context_for(ca)) as http:
            for host in ("127.0.0.1", "[::1]"):
                assert http.get("https://%s:%d/" % (host, port)).json()["scheme"] == "https"


def test_a_resumed_connection_says_so_in_the_scope(ca):
    """Python's ssl client offers the session of its first connection on the second."""
    config = ServerConfig(certificates=[ca.issue_server(["localhost"]).keystore()])
    context = context_for(ca)
    request = b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    seen, session = [], None
    with running(config) as server:
        port = server.addresses[0][1]
        for _ in range(2):
            with socket.create_connection(("localhost", port)) as raw, \
                    context.wrap_socket(raw, server_hostname="localhost",
                                        session=session) as tls:
                tls.sendall(request)
                response = b""
                while chunk := tls.recv(65536):
                    response += chunk
                session = tls.session
                head, body = response.split(b"\r\n\r\n", 1)
                if b"chunked" in head.lower():  # one chunk: its size line, the data, the end
                    body = body.split(b"\r\n", 1)[1].rsplit(b"\r\n0\r\n", 1)[0]
                seen.append((tls.session_reused, json.loads(body)["tls"]["resumed"]))
    assert seen == [(False, False), (True, True)]
