"""The fixtures themselves, checked between two independent stacks (Python ssl and openssl).

If these fail, the certificates or the harness are at fault, not the engine; the engine's
interop tests rely on both.
"""

from __future__ import annotations

import socket
import ssl

import pytest

from tests._support.certificates import KEY_TYPES
from tests._support.peers import TIMEOUT, ssl_client_context, ssl_server_context


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_openssl_server_accepts_python_ssl_client_with_fixture_certificates(
        pki, openssl_server, key_type):
    server = openssl_server(pki.servers[key_type], "-rev")
    context = ssl_client_context(pki.ca_path, crl_path=pki.crl_path)
    with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT) as sock:
        with context.wrap_socket(sock, server_hostname="localhost") as tls:
            assert tls.version() == "TLSv1.3"
            tls.sendall(b"reference\n")
            assert tls.recv(100) == b"ecnerefer\n"


def test_python_ssl_client_refuses_revoked_fixture_certificate(pki, openssl_server):
    server = openssl_server(pki.revoked, "-rev")
    context = ssl_client_context(pki.ca_path, crl_path=pki.crl_path)
    with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT) as sock:
        with pytest.raises(ssl.SSLCertVerificationError, match="revoked"):
            context.wrap_socket(sock, server_hostname="localhost")
    server.wait_for("alert certificate revoked")


def test_openssl_client_verifies_python_ssl_server_with_client_certificate(
        pki, ssl_server, openssl_client):
    context = ssl_server_context(pki.servers["p256"], client_ca=pki.ca_path)
    server = ssl_server(context)
    client = openssl_client(server.port, "-CAfile", pki.ca_path, "-verify_return_error",
                            "-servername", "localhost", "-verify_hostname", "localhost",
                            *pki.client.openssl_args())
    client.wait_for("Verify return code: 0")
    client.write(b"hello\n")
    client.wait_for("hello")
    session = server.wait_session()
    assert dict(x[0] for x in session["peer"]["subject"])["commonName"] == "alice"
