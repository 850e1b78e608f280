"""Mutual TLS without a browser: Python's ssl client holds certificates the console issued."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from engine.console.throttle import LoginThrottle
from engine.pki import KeyStore

from .conftest import (
    alerts_sent, client, eventually, login, serving, ssl_context, token_of,
)

httpx = pytest.importorskip("httpx")


@pytest.fixture(scope="module")
def server(console_dir):
    with serving(console_dir, client_certificates=True,
                 throttle=LoginThrottle(limit=1000)) as running:
        yield running


def issue_client(console_dir, server, tmp_path, name: str):
    """A client certificate for ``name``, issued through the console; its PEM files."""
    with client(console_dir, server) as http:
        assert login(http).status_code == 303
        p12 = http.post("/certificates/issue", data={
            "kind": "client", "names": name, "days": "30", "keystore_password": "pw",
            "csrf_token": token_of(http)}).content
    keystore = KeyStore.from_bytes(p12, "pw")
    cert, key = tmp_path / ("%s.pem" % name), tmp_path / ("%s.key" % name)
    cert.write_bytes(keystore.certificate.public_bytes(Encoding.PEM))
    key.write_bytes(keystore.private_key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8,
                                                       NoEncryption()))
    return keystore.certificate.serial_number, ssl_context(console_dir, cert, key)


def revoke(http, serial: int):
    return http.post("/certificates/%x/revoke" % serial,
                     data={"reason": "keyCompromise", "csrf_token": token_of(http)})


def wait_until_closed(server, serial: int) -> None:
    """Until the server has no open connection authenticated by ``serial``."""
    eventually(lambda: not any(
        tls.handshake is not None and tls.handshake.peer_chain
        and tls.handshake.peer_chain[0].serial_number == serial
        for tls in server.stats.live()), "the connections of %x are closed" % serial)


def test_a_certificate_naming_an_administrator_logs_him_in(console_dir, server, tmp_path):
    serial, context = issue_client(console_dir, server, tmp_path, "adam")
    with client(console_dir, server, verify=context) as http:
        page = http.get("/")
    assert page.status_code == 200
    assert '<span id="who">adam</span>' in page.text
    assert "serial %x" % serial in page.text


def test_a_certificate_naming_nobody_known_logs_no_one_in(console_dir, server, tmp_path):
    _, context = issue_client(console_dir, server, tmp_path, "stranger")
    with client(console_dir, server, verify=context) as http:
        assert http.get("/", follow_redirects=False).status_code == 303


def test_a_certificate_session_is_worthless_without_the_certificate(console_dir, server,
                                                                    tmp_path):
    _, context = issue_client(console_dir, server, tmp_path, "adam")
    with client(console_dir, server, verify=context) as http:
        http.get("/")
        cookie = http.cookies["console_session"]
    with client(console_dir, server) as other:
        response = other.get("/", headers={"cookie": "console_session=" + cookie},
                             follow_redirects=False)
    assert response.status_code == 303


def test_revoking_closes_its_connections_and_the_next_handshake_fails(console_dir, server,
                                                                      tmp_path):
    serial, context = issue_client(console_dir, server, tmp_path, "adam")
    with client(console_dir, server, verify=context) as holder, \
            client(console_dir, server) as admin:
        assert holder.get("/").status_code == 200
        assert login(admin).status_code == 303
        assert revoke(admin, serial).status_code == 303
        wait_until_closed(server, serial)
        with pytest.raises(httpx.HTTPError) as failure:
            holder.get("/")  # its connection was closed: a new handshake, refused
    assert "certificate revoked" in str(failure.value).lower() \
        or "certificate_revoked" in str(failure.value).lower()
    eventually(lambda: alerts_sent(server, "certificate_revoked") >= 1,
               "the server counts the certificate_revoked alert it sent")


def test_a_browser_without_a_certificate_still_gets_the_login_page(console_dir, server):
    with client(console_dir, server) as http:
        page = http.get("/", follow_redirects=True)
    assert page.status_code == 200 and 'id="login"' in page.text
    assert "not asked for" not in page.text
