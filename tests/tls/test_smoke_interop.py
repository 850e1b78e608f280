"""A quick check of the wire format against independent stacks: openssl and Python's ssl.

The full interop matrix lives in tests/interop; these few handshakes catch wire bugs early.
"""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import threading

import pytest
from cryptography.hazmat.primitives import serialization

from engine.tls import ApplicationData, ClientConnection, ConnectionClosed, HandshakeComplete
from engine.tls import ServerConnection
from tls_pairs import client_config, server_config

pytestmark = pytest.mark.interop

OPENSSL = shutil.which("openssl")
needs_openssl = pytest.mark.skipif(OPENSSL is None, reason="the openssl binary is not installed")


def pem_files(tmp_path, keystore, ca):
    cert = tmp_path / "cert.pem"
    key = tmp_path / "key.pem"
    root = tmp_path / "ca.pem"
    cert.write_bytes(keystore.certificate.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "chain.pem").write_bytes(
        b"".join(c.public_bytes(serialization.Encoding.PEM) for c in keystore.chain))
    key.write_bytes(keystore.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    root.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    return str(cert), str(key), str(root)


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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


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


@needs_openssl
@pytest.mark.parametrize("group,openssl_group", [("x25519", "X25519"), ("secp256r1", "P-256")])
def test_client_against_openssl_s_server(pki, tmp_path, group, openssl_group):
    cert, key, _ = pem_files(tmp_path, pki.servers["p256"], pki.root.certificate)
    port = free_port()
    server = subprocess.Popen(
        [OPENSSL, "s_server", "-tls1_3", "-accept", str(port), "-naccept", "1", "-cert", cert,
         "-key", key, "-cert_chain", str(tmp_path / "chain.pem"), "-www", "-groups",
         openssl_group],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        for _ in range(5):  # s_server says ACCEPT once it listens
            if server.stdout.readline().strip() == b"ACCEPT":
                break
        seen = client_round_trip(pki, port, b"GET / HTTP/1.0\r\n\r\n")
    finally:
        server.kill()
        server.wait()
    assert seen["handshake"].group == group
    assert seen["data"].startswith(b"HTTP/1.0 200")


@needs_openssl
def test_openssl_s_client_against_our_server(pki, tmp_path):
    _, _, root = pem_files(tmp_path, pki.servers["p256"], pki.root.certificate)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    seen = {}

    def serve():
        sock, _ = listener.accept()
        conn = ServerConnection(server_config(pki))

        def on_event(event):
            if isinstance(event, HandshakeComplete):
                seen["handshake"] = event
            if isinstance(event, ApplicationData):
                conn.send_data(b"echo:" + event.data)
                conn.close()
                sock.sendall(conn.data_to_send())
                return True
            return isinstance(event, ConnectionClosed)

        with sock:
            drive(conn, sock, on_event)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        result = subprocess.run(
            [OPENSSL, "s_client", "-connect", "127.0.0.1:%d" % port, "-tls1_3", "-CAfile", root,
             "-servername", "localhost", "-verify_return_error", "-ign_eof"],
            input=b"ping\n", capture_output=True, timeout=20,
        )
    finally:
        thread.join(10)
        listener.close()
    assert seen["handshake"].cipher_suite == "TLS_AES_128_GCM_SHA256"
    assert b"Verify return code: 0 (ok)" in result.stdout
    assert b"echo:ping" in result.stdout


def test_client_against_python_ssl_server(pki, tmp_path):
    cert, key, _ = pem_files(tmp_path, pki.servers["rsa2048"], pki.root.certificate)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    with open(cert, "ab") as bundle:  # leaf, then its issuing CA
        bundle.write((tmp_path / "chain.pem").read_bytes())
    context.load_cert_chain(cert, key)
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
def test_python_ssl_client_against_our_server(pki, tmp_path, groups):
    _, _, root = pem_files(tmp_path, pki.servers["p384"], pki.root.certificate)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    seen = {}

    def serve():
        sock, _ = listener.accept()
        conn = ServerConnection(server_config(pki, certificates=[pki.servers["p384"]],
                                              alpn_protocols=("h2",), groups=groups))

        def on_event(event):
            if isinstance(event, HandshakeComplete):
                seen["handshake"] = event
            if isinstance(event, ApplicationData):
                conn.send_data(b"echo:" + event.data)
                sock.sendall(conn.data_to_send())
                return True
            return False

        with sock:
            drive(conn, sock, on_event)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    context = ssl.create_default_context(cafile=root)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.set_alpn_protocols(["h2"])
    try:
        with socket.create_connection(listener.getsockname(), timeout=10) as raw:
            with context.wrap_socket(raw, server_hostname="localhost") as tls:
                tls.sendall(b"hello")
                reply = tls.recv(100)
                assert tls.selected_alpn_protocol() == "h2"
                assert tls.version() == "TLSv1.3"
    finally:
        thread.join(10)
        listener.close()
    assert reply == b"echo:hello"
    assert seen["handshake"].alpn_protocol == "h2"
    assert seen["handshake"].group == groups[0]


@pytest.mark.parametrize("offered,expected", [
    (["h2", "http/1.1"], "http/1.1"),  # as curl and browsers offer
    (None, None),  # no ALPN: none is answered, the page is served all the same
])
def test_s_server_www_selects_http11_for_a_python_ssl_client(pki, tmp_path, offered, expected):
    """``engine s_server --www`` speaks HTTP/1.1 and says so by ALPN when the client offers it."""
    from engine.cli import build_parser
    from engine.cli.s_server import build_config

    cert, key, root = pem_files(tmp_path, pki.servers["p256"], pki.root.certificate)
    with open(cert, "ab") as fh:
        fh.write((tmp_path / "chain.pem").read_bytes())
    config = build_config(build_parser().parse_args(
        ["s_server", "--www", "--cert", cert, "--key", key]))
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    seen = {}

    def serve():
        sock, _ = listener.accept()
        conn = ServerConnection(config)

        def on_event(event):
            if isinstance(event, HandshakeComplete):
                seen["handshake"] = event
            return isinstance(event, ApplicationData)

        with sock:
            drive(conn, sock, on_event)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    context = ssl.create_default_context(cafile=root)
    if offered:
        context.set_alpn_protocols(offered)
    try:
        with socket.create_connection(listener.getsockname(), timeout=10) as raw:
            with context.wrap_socket(raw, server_hostname="localhost") as tls:
                tls.sendall(b"GET / HTTP/1.1\r\n\r\n")
                selected = tls.selected_alpn_protocol()
    finally:
        thread.join(10)
        listener.close()
    assert selected == expected
    assert seen["handshake"].alpn_protocol == expected


@needs_openssl
def test_openssl_s_server_reads_our_alert(pki, tmp_path):
    from engine.errors import UnknownCaError

    cert, key, _ = pem_files(tmp_path, pki.untrusted_server, pki.root.certificate)
    port = free_port()
    server = subprocess.Popen(
        [OPENSSL, "s_server", "-tls1_3", "-accept", str(port), "-naccept", "1", "-cert", cert,
         "-key", key], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        for _ in range(5):
            if server.stdout.readline().strip() == b"ACCEPT":
                break
        client = ClientConnection(client_config(pki))
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            with pytest.raises(UnknownCaError):
                drive(client, sock, lambda event: False)
            sock.sendall(client.data_to_send())
            server.wait(timeout=10)
    finally:
        server.kill()
    assert b"alert unknown ca" in server.stdout.read()


@needs_openssl
def test_exported_keying_material_matches_openssl(pki, tmp_path):
    cert, key, _ = pem_files(tmp_path, pki.servers["p256"], pki.root.certificate)
    port = free_port()
    server = subprocess.Popen(
        [OPENSSL, "s_server", "-tls1_3", "-accept", str(port), "-naccept", "1", "-cert", cert,
         "-key", key, "-cert_chain", str(tmp_path / "chain.pem"),
         "-keymatexport", "EXPORTER-engine-test", "-keymatexportlen", "32"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        for _ in range(5):
            if server.stdout.readline().strip() == b"ACCEPT":
                break
        client = ClientConnection(client_config(pki))
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            drive(client, sock, lambda event: isinstance(event, HandshakeComplete))
            ours = client.export_keying_material("EXPORTER-engine-test", b"", 32)
            client.close()
            sock.sendall(client.data_to_send())
        server.wait(timeout=10)
    finally:
        server.kill()
    printed = server.stdout.read().decode("ascii", "replace")
    assert "Keying material: " + ours.hex().upper() in printed
