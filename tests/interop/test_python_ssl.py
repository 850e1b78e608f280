"""The engine against Python's ssl module, both ways, on loopback.

Python's ssl cannot pick TLS 1.3 cipher suites or groups before 3.13, so those are constrained
on the engine's side; every choice still has to be accepted by OpenSSL underneath ssl.
"""

from __future__ import annotations

import os
import socket
import ssl

import pytest

from engine.records import SUITES
import engine
from engine.errors import PeerAlertError, ProtocolError
from engine.tls import ClientConfig, ServerConfig
from tests._support.certificates import KEY_TYPES
from tests._support.peers import ssl_client_context, ssl_server_context

GROUPS = ("x25519", "secp256r1", "secp384r1")
TIMEOUT = 10.0


def client_config(pki, **options) -> ClientConfig:
    return ClientConfig(trust=pki.trust, crls=pki.crls, **options)


def ssl_connect(port: int, context: ssl.SSLContext, server_hostname: str = "localhost"):
    sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    try:
        return context.wrap_socket(sock, server_hostname=server_hostname)
    except BaseException:
        sock.close()
        raise


def ssl_round_trip(tls, payload: bytes) -> None:
    tls.sendall(payload)
    received = bytearray()
    while len(received) < len(payload):
        data = tls.recv(65536)
        assert data, "the connection closed early"
        received += data
    assert bytes(received) == payload


def engine_round_trip(tls, payload: bytes) -> None:
    tls.sendall(payload)
    assert tls.recv_exactly(len(payload)) == payload


# --- engine client, ssl server ------------------------------------------------------------------


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_engine_client_with_ssl_server_each_key_type(pki, ssl_server, key_type):
    identity = pki.servers[key_type]
    server = ssl_server(ssl_server_context(identity))
    with engine.connect("localhost", server.port, client_config(pki), timeout=TIMEOUT) as tls:
        assert tls.peer_chain[0] == identity.certificate
        engine_round_trip(tls, b"key type " + key_type.encode())
    assert server.wait_session()["version"] == "TLSv1.3"


@pytest.mark.parametrize("suite", SUITES)
def test_engine_client_with_ssl_server_each_cipher_suite(pki, ssl_server, suite):
    server = ssl_server(ssl_server_context(pki.servers["p256"]))
    options = {"cipher_suites": (suite,)}
    with engine.connect("localhost", server.port, client_config(pki, **options),
                        timeout=TIMEOUT) as tls:
        assert tls.cipher_suite == suite
        engine_round_trip(tls, suite.encode())
    assert server.wait_session()["cipher"] == suite


@pytest.mark.parametrize("group", GROUPS)
def test_engine_client_with_ssl_server_each_group(pki, ssl_server, group):
    server = ssl_server(ssl_server_context(pki.servers["p256"]))
    options = {"groups": (group,), "key_share_groups": (group,)}
    with engine.connect("localhost", server.port, client_config(pki, **options),
                        timeout=TIMEOUT) as tls:
        assert tls.group == group
        engine_round_trip(tls, group.encode())


def test_engine_client_sends_and_receives_a_megabyte_through_ssl_server(pki, ssl_server):
    server = ssl_server(ssl_server_context(pki.servers["p256"]))
    payload = os.urandom(1 << 20)
    with engine.connect("localhost", server.port, client_config(pki), timeout=TIMEOUT) as tls:
        engine_round_trip(tls, payload)
        assert tls.plaintext_sent == len(payload) == tls.plaintext_received
        assert tls.bytes_sent > len(payload)


def test_engine_client_key_update_with_ssl_server(pki, ssl_server):
    server = ssl_server(ssl_server_context(pki.servers["p256"]))
    with engine.connect("localhost", server.port, client_config(pki), timeout=TIMEOUT) as tls:
        for request_peer in (False, True, True):
            tls.key_update(request_peer=request_peer)
            engine_round_trip(tls, b"after update %r" % request_peer)


def test_engine_client_authenticates_to_ssl_server(pki, ssl_server):
    context = ssl_server_context(pki.servers["p256"], client_ca=pki.ca_path)
    server = ssl_server(context)
    options = {"certificate": pki.client.keystore}
    with engine.connect("localhost", server.port, client_config(pki, **options),
                        timeout=TIMEOUT) as tls:
        engine_round_trip(tls, b"mutual")
    subject = dict(x[0] for x in server.wait_session()["peer"]["subject"])
    assert subject["commonName"] == "alice"


@pytest.mark.parametrize("case,alert,reason", [
    ("untrusted_ca", "unknown_ca", "untrusted"),
    ("wrong_name", None, "name_mismatch"),
    ("revoked", "certificate_revoked", "revoked"),
    ("expired", "certificate_expired", "expired"),
])
def test_engine_client_refuses_bad_ssl_server_certificate(pki, ssl_server, case, alert,
                                                          reason):
    identity = {"untrusted_ca": pki.stranger, "wrong_name": pki.servers["p256"],
                "revoked": pki.revoked, "expired": pki.expired}[case]
    server = ssl_server(ssl_server_context(identity))
    name = "wrong.example" if case == "wrong_name" else "localhost"
    with pytest.raises(ProtocolError) as caught:
        engine.connect("127.0.0.1", server.port, client_config(pki), server_name=name,
                       timeout=TIMEOUT)
    assert caught.value.reason == reason
    if alert is not None:
        assert caught.value.alert.name == alert
    # ssl (OpenSSL) names the alert it received: "tlsv1 alert unknown ca" and the like.
    seen = str(server.wait_error()).lower()
    assert "alert " + caught.value.alert.name.replace("_", " ") in seen


# --- ssl client, engine server ------------------------------------------------------------------


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_ssl_client_with_engine_server_each_key_type(pki, engine_server, key_type):
    server = engine_server(ServerConfig([pki.servers[key_type].keystore]))
    context = ssl_client_context(pki.ca_path, crl_path=pki.crl_path)
    with ssl_connect(server.port, context) as tls:
        assert tls.version() == "TLSv1.3"
        ssl_round_trip(tls, b"key type " + key_type.encode())
    assert server.wait_handshake().server_name == "localhost"


@pytest.mark.parametrize("suite", SUITES)
def test_ssl_client_with_engine_server_each_cipher_suite(pki, engine_server, suite):
    server = engine_server(ServerConfig([pki.servers["p256"].keystore], cipher_suites=(suite,)))
    with ssl_connect(server.port, ssl_client_context(pki.ca_path)) as tls:
        assert tls.cipher()[0] == suite
        ssl_round_trip(tls, suite.encode())


@pytest.mark.parametrize("group", GROUPS)
def test_ssl_client_with_engine_server_each_group(pki, engine_server, group):
    # ssl offers an x25519 key share first: any other group goes through HelloRetryRequest.
    server = engine_server(ServerConfig([pki.servers["p256"].keystore], groups=(group,)))
    with ssl_connect(server.port, ssl_client_context(pki.ca_path)) as tls:
        ssl_round_trip(tls, group.encode())
    assert server.wait_handshake().group == group


def test_ssl_client_sends_and_receives_a_megabyte_through_engine_server(pki, engine_server):
    server = engine_server(ServerConfig([pki.servers["p256"].keystore]))
    with ssl_connect(server.port, ssl_client_context(pki.ca_path)) as tls:
        ssl_round_trip(tls, os.urandom(1 << 20))


def test_engine_server_key_update_is_followed_by_ssl_client(pki, engine_server):
    def update_then_echo(tls):
        while True:
            data = tls.recv(65536)
            if not data:
                return
            tls.key_update(request_peer=data.startswith(b"request"))
            tls.sendall(data)

    server = engine_server(ServerConfig([pki.servers["p256"].keystore]), update_then_echo)
    with ssl_connect(server.port, ssl_client_context(pki.ca_path)) as tls:
        for message in (b"request 1", b"no request", b"request 2", b"after"):
            ssl_round_trip(tls, message)


def test_ssl_client_authenticates_to_engine_server(pki, engine_server):
    server = engine_server(ServerConfig([pki.servers["p256"].keystore], trust=pki.trust,
                                        verify_client="require"))
    context = ssl_client_context(pki.ca_path, identity=pki.client)
    with ssl_connect(server.port, context) as tls:
        ssl_round_trip(tls, b"mutual")
    assert server.wait_handshake().peer_chain[0] == pki.client.certificate


def test_engine_server_refuses_ssl_client_without_certificate(pki, engine_server):
    server = engine_server(ServerConfig([pki.servers["p256"].keystore], trust=pki.trust,
                                        verify_client="require"))
    with pytest.raises(ssl.SSLError, match="(?i)certificate required"):
        with ssl_connect(server.port, ssl_client_context(pki.ca_path)) as tls:
            tls.sendall(b"hello")
            tls.recv(100)
    assert server.wait_error().alert.name == "certificate_required"


@pytest.mark.parametrize("case,alert", [("untrusted_ca", "unknown_ca"),
                                        ("wrong_name", "bad_certificate"),
                                        ("revoked", "certificate_revoked"),
                                        ("expired", "certificate_expired")])
def test_ssl_client_refuses_bad_engine_server_certificate(pki, engine_server, case,
                                                          alert):
    identity = {"untrusted_ca": pki.stranger, "wrong_name": pki.servers["p256"],
                "revoked": pki.revoked, "expired": pki.expired}[case]
    server = engine_server(ServerConfig([identity.keystore]))
    context = ssl_client_context(pki.ca_path, crl_path=pki.crl_path)
    name = "wrong.example" if case == "wrong_name" else "localhost"
    with pytest.raises(ssl.SSLCertVerificationError):
        ssl_connect(server.port, context, server_hostname=name)
    error = server.wait_error()
    assert isinstance(error, PeerAlertError)
    assert error.description.name == alert
