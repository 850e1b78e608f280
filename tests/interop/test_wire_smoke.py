"""A quick check of the wire format against independent stacks: openssl and Python's ssl.

The sans-I/O connections themselves over sockets, beside the adapters' matrix in this folder:
these few handshakes catch wire bugs early.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import subprocess
import threading

import pytest

from engine.tls import ApplicationData, ClientConnection, ConnectionClosed, HandshakeComplete
from engine.tls import ServerConnection
from tests._support.pairs import client_config, server_config
from tests._support.peers import OPENSSL, needs_openssl



def drive(conn, sock, on_event, rounds=200):
    """Move bytes between a connection and a socket until ``on_event`` returns True."""
    sock.settimeout(10)
    out = conn.data_to_send()
    if out:
        sock.sendall(out)
    for _ in range(rounds):
        data = sock.recv(65536)
        events = conn.receive_data(data)
        out = conn.data_to_send()
        if out:
            sock.sendall(out)
        for event in events:
            if on_event(event):
                return
        if not data:
            return
    raise AssertionError("no result after %d reads" % rounds)


@contextlib.contextmanager
def serving_one(conn, on_event):
    """A listener on 127.0.0.1 whose first connection ``conn`` (a ServerConnection) drives
    until ``on_event(event, sock)`` returns True; yields the port and a dict that gets the
    HandshakeComplete event as ``"handshake"``."""
    listener = socket.create_server(("127.0.0.1", 0))
    seen = {}

    def handle(event, sock):
        if isinstance(event, HandshakeComplete):
            seen["handshake"] = event
        return on_event(event, sock)

    def serve():
        sock, _ = listener.accept()
        with sock:
            drive(conn, sock, lambda event: handle(event, sock))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1], seen
    finally:
        thread.join(10)
        listener.close()


def client_round_trip(pki, port, request: bytes, **options):
    client = ClientConnection(client_config(pki, **options))
    seen = {}

    def on_event(event):
        if isinstance(event, HandshakeComplete):
            seen["handshake"] = event
            client.send_data(request)
            sock.sendall(client.data_to_send())
        elif isinstance(event, ApplicationData):
            seen["data"] = seen.get("data", b"") + event.data
            return b"\n" in seen["data"]
        return isinstance(event, ConnectionClosed)

    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        drive(client, sock, on_event)
    return seen


@pytest.mark.parametrize("group,openssl_group", [("x25519", "X25519"), ("secp256r1", "P-256")])
def test_client_against_openssl_s_server(pki, openssl_server, group, openssl_group):
    server = openssl_server(pki.servers["p256"], "-naccept", "1", "-www",
                            "-groups", openssl_group)
    seen = client_round_trip(pki, server.port, b"GET / HTTP/1.0\r\n\r\n")
    assert seen["handshake"].group == group
    assert seen["data"].startswith(b"HTTP/1.0 200")


@needs_openssl
def test_openssl_s_client_against_our_server(pki):
    conn = ServerConnection(server_config(pki, [pki.servers["p256"].keystore]))

    def on_event(event, sock):
        if isinstance(event, ApplicationData):
            conn.send_data(b"echo:" + event.data)
            conn.close()
            sock.sendall(conn.data_to_send())
            return True
        return isinstance(event, ConnectionClosed)

    with serving_one(conn, on_event) as (port, seen):
        result = subprocess.run(
            [OPENSSL, "s_client", "-connect", "127.0.0.1:%d" % port, "-tls1_3",
             "-CAfile", pki.ca_path,
             "-servername", "localhost", "-verify_return_error", "-ign_eof"],
            input=b"ping\n", capture_output=True, timeout=20,
        )
    assert seen["handshake"].cipher_suite == "TLS_AES_128_GCM_SHA256"
    assert b"Verify return code: 0 (ok)" in result.stdout
    assert b"echo:ping" in result.stdout


def test_client_against_python_ssl_server(pki):
    identity = pki.servers["rsa2048"]
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.load_cert_chain(identity.cert_path, identity.key_path)  # leaf, then its issuer
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def serve():
        raw, _ = listener.accept()
        with context.wrap_socket(raw, server_side=True) as tls:
            line = tls.recv(100)
            tls.sendall(b"echo:" + line)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        seen = client_round_trip(pki, listener.getsockname()[1], b"hi\n")
    finally:
        thread.join(10)
        listener.close()
    assert seen["handshake"].signature_scheme.startswith("rsa_pss_rsae")
    assert seen["data"] == b"echo:hi\n"


@pytest.mark.parametrize("groups", [("x25519",), ("secp384r1",)])  # the second needs a retry
def test_python_ssl_client_against_our_server(pki, groups):
    conn = ServerConnection(server_config(pki, certificates=[pki.servers["p384"].keystore],
                                          alpn_protocols=("h2",), groups=groups))

    def on_event(event, sock):
        if isinstance(event, ApplicationData):
            conn.send_data(b"echo:" + event.data)
            sock.sendall(conn.data_to_send())
            return True
        return False

    context = ssl.create_default_context(cafile=pki.ca_path)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.set_alpn_protocols(["h2"])
    with serving_one(conn, on_event) as (port, seen):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            with context.wrap_socket(raw, server_hostname="localhost") as tls:
                tls.sendall(b"hello")
                reply = tls.recv(100)
                assert tls.selected_alpn_protocol() == "h2"
                assert tls.version() == "TLSv1.3"
    assert reply == b"echo:hello"
    assert seen["handshake"].alpn_protocol == "h2"
    assert seen["handshake"].group == groups[0]


@pytest.mark.parametrize("offered,expected", [
    (["h2", "http/1.1"], "http/1.1"),  # as curl and browsers offer
    (None, None),  # no ALPN: none is answered, the page is served all the same
])
def test_s_server_www_selects_http11_for_a_python_ssl_client(pki, offered, expected):
    """``engine s_server --www`` speaks HTTP/1.1 and says so by ALPN when the client offers it."""
    from engine.cli import build_parser
    from engine.cli.s_server import build_config

    identity = pki.servers["p256"]  # its file holds the leaf, then its issuer
    config = build_config(build_parser().parse_args(
        ["s_server", "--www", "--cert", identity.cert_path, "--key", identity.key_path]))

    def on_event(event, sock):
        return isinstance(event, ApplicationData)

    context = ssl.create_default_context(cafile=pki.ca_path)
    if offered:
        context.set_alpn_protocols(offered)
    with serving_one(ServerConnection(config), on_event) as (port, seen):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            with context.wrap_socket(raw, server_hostname="localhost") as tls:
                tls.sendall(b"GET / HTTP/1.1\r\n\r\n")
                selected = tls.selected_alpn_protocol()
    assert selected == expected
    assert seen["handshake"].alpn_protocol == expected


def test_openssl_s_server_reads_our_alert(pki, openssl_server):
    from engine.errors import UnknownCaError

    server = openssl_server(pki.stranger, "-naccept", "1")
    client = ClientConnection(client_config(pki))
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        with pytest.raises(UnknownCaError):
            drive(client, sock, lambda event: False)
        sock.sendall(client.data_to_send())
        server.wait_for("alert unknown ca")


def test_exported_keying_material_matches_openssl(pki, openssl_server):
    server = openssl_server(pki.servers["p256"], "-naccept", "1",
                            "-keymatexport", "EXPORTER-engine-test", "-keymatexportlen", "32")
    client = ClientConnection(client_config(pki))
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        drive(client, sock, lambda event: isinstance(event, HandshakeComplete))
        ours = client.export_keying_material("EXPORTER-engine-test", b"", 32)
        client.close()
        sock.sendall(client.data_to_send())
    server.wait_for("Keying material: " + ours.hex().upper())
