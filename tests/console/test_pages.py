"""The console's pages over engine's TLS: this connection, certificates, uploads,
administrators, server; and what bad input gets."""

from __future__ import annotations

import json
import os

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from engine.console.throttle import LoginThrottle
from engine.pki import KeyStore, RevocationList

from .conftest import ADAM_PASSWORD, client, csrf_token, login, serving, token_of


@pytest.fixture(scope="module")
def server(console_dir):
    with serving(console_dir, throttle=LoginThrottle(limit=1000)) as running:
        yield running


@pytest.fixture
def http(console_dir, server):
    with client(console_dir, server) as logged_in:
        assert login(logged_in).status_code == 303
        yield logged_in


def issue(http, kind="client", names="adam", password="p12 password", days="30"):
    return http.post("/certificates/issue", data={
        "kind": kind, "names": names, "days": days, "keystore_password": password,
        "csrf_token": token_of(http)})


def revoke(http, serial: int, reason="keyCompromise"):
    return http.post("/certificates/%x/revoke" % serial,
                     data={"reason": reason, "csrf_token": token_of(http)})


def audit_actions(directory) -> list:
    with open(os.path.join(directory.path, "audit.log")) as fh:
        return [json.loads(line) for line in fh]


def test_this_connection_shows_what_the_handshake_agreed(http):
    page = http.get("/")
    stream = page.extensions["network_stream"]
    ssl_object = stream.get_extra_info("ssl_object")
    assert ssl_object.version() == "TLSv1.3"
    assert '<td id="tls-version">TLS 1.3</td>' in page.text
    assert '<td id="tls-suite">%s</td>' % ssl_object.cipher()[0] in page.text
    assert '<td id="tls-sni">localhost</td>' in page.text
    assert "not asked for (mutual TLS is off)" in page.text


def test_an_issued_client_keystore_opens_with_its_password(console_dir, http):
    response = issue(http, names="adam")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-pkcs12"
    assert "attachment" in response.headers["content-disposition"]
    keystore = KeyStore.from_bytes(response.content, "p12 password")
    assert keystore.certificate.issuer == console_dir.ca.certificate.subject
    serial = "%x" % keystore.certificate.serial_number
    assert 'data-serial="%s"' % serial in http.get("/certificates").text
    pem = http.get("/certificates/%s.pem" % serial)
    assert x509.load_pem_x509_certificate(pem.content) == keystore.certificate
    entry = audit_actions(console_dir)[-1]
    assert (entry["who"], entry["action"], entry["serial"]) == ("adam", "certificate issued",
                                                                 serial)
    assert "p12 password" not in json.dumps(audit_actions(console_dir))


def test_a_server_certificate_names_its_hosts(http):
    response = issue(http, kind="server", names="www.example.test, 192.0.2.7")
    certificate = KeyStore.from_bytes(response.content, "p12 password").certificate
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(n.value) for n in names] == ["www.example.test", "192.0.2.7"]


@pytest.mark.parametrize("fields, message", [
    ({"kind": "root"}, "the kind must be server or client"),
    ({"names": ""}, "give at least one name"),
    ({"names": "a b"}, "a client certificate has one name"),
    ({"days": "0"}, "the validity is 1 to 825 days"),
    ({"days": "ten"}, "the validity is a whole number of days"),
    ({"password": ""}, "a KeyStore password is needed"),
    ({"kind": "server", "names": "host!"}, "is neither an IP address nor a DNS name"),
])
def test_a_bad_issue_form_is_a_400_with_a_plain_message(http, fields, message):
    response = issue(http, **fields)
    assert response.status_code == 400
    assert message in response.text
    assert "Traceback" not in response.text


def test_revoking_republishes_the_crl_at_once(console_dir, http):
    serial = KeyStore.from_bytes(issue(http).content, "p12 password").certificate.serial_number
    response = revoke(http, serial, "keyCompromise")
    assert response.status_code == 303
    crl = RevocationList.from_bytes(http.get("/crl.pem").content)
    assert crl.crl.issuer == console_dir.ca.certificate.subject
    entry = crl.crl.get_revoked_certificate_by_serial_number(serial)
    assert entry is not None
    assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason \
        == x509.ReasonFlags.key_compromise
    page = http.get("/certificates").text
    assert "revoked (keyCompromise)" in page
    assert audit_actions(console_dir)[-1]["action"] == "certificate revoked"


def test_revoking_twice_or_an_unknown_serial_is_refused(http):
    serial = KeyStore.from_bytes(issue(http).content, "p12 password").certificate.serial_number
    assert revoke(http, serial).status_code == 303
    again = revoke(http, serial)
    assert again.status_code == 400 and "already revoked" in again.text
    assert revoke(http, 0xABCDEF).status_code == 400
    assert revoke(http, serial, reason="because").status_code == 400
    assert http.post("/certificates/zz/revoke",
                     data={"csrf_token": token_of(http)}).status_code == 404
    assert http.get("/certificates/zz.pem").status_code == 404


def upload(http, data: bytes, name="cert.pem"):
    return http.post("/certificates/check", data={"csrf_token": token_of(http)},
                     files={"certificate": (name, data, "application/octet-stream")})


def test_an_uploaded_certificate_is_checked_against_the_crl(http):
    keystore = KeyStore.from_bytes(issue(http).content, "p12 password")
    pem = keystore.certificate.public_bytes(Encoding.PEM)
    valid = upload(http, pem)
    assert valid.status_code == 200 and '<td id="check-verdict">valid</td>' in valid.text
    revoke(http, keystore.certificate.serial_number)
    revoked = upload(http, pem)
    assert '<td id="check-verdict">revoked</td>' in revoked.text


def test_an_upload_that_is_no_certificate_is_a_400(http):
    response = upload(http, b"\x00not a certificate")
    assert response.status_code == 400
    assert "not a PEM or DER certificate" in response.text


def test_an_oversized_upload_is_a_413(http):
    assert upload(http, b"A" * (65 * 1024)).status_code == 413


def test_a_body_past_the_limit_is_refused_before_any_handler(http):
    response = http.post("/certificates/check", content=b"x" * (300 * 1024),
                         headers={"content-type": "application/x-www-form-urlencoded"})
    assert response.status_code == 413


def test_a_post_that_is_no_form_is_a_415(http):
    response = http.post("/admins/add", json={"name": "eve"})
    assert response.status_code == 415


def test_a_form_with_too_many_fields_is_a_400(http):
    fields = {"f%d" % i: "x" for i in range(40)}
    fields["csrf_token"] = token_of(http)
    assert http.post("/admins/add", data=fields).status_code == 400


def test_an_overlong_field_is_a_400(http):
    response = http.post("/admins/add", data={"name": "n" * 500, "password": "x" * 10,
                                              "password2": "x" * 10,
                                              "csrf_token": token_of(http)})
    assert response.status_code == 400


def test_administrators_are_added_changed_and_removed(console_dir, server, http):
    def form(path, **data):
        return http.post(path, data={**data, "csrf_token": token_of(http, "/admins")})

    assert form("/admins/add", name="bea", password="bea's password",
                password2="bea's password").status_code == 303
    assert 'data-name="bea"' in http.get("/admins").text
    with client(console_dir, server) as bea:
        assert login(bea, "bea", "bea's password").status_code == 303
        assert form("/admins/bea/password", password="bea's new password",
                    password2="bea's new password").status_code == 303
        assert bea.get("/", follow_redirects=False).status_code == 303  # her session ended
        assert login(bea, "bea", "bea's password").status_code == 401
        assert login(bea, "bea", "bea's new password").status_code == 303
        assert form("/admins/bea/remove").status_code == 303
        assert bea.get("/", follow_redirects=False).status_code == 303
    assert 'data-name="bea"' not in http.get("/admins").text
    actions = [e["action"] for e in audit_actions(console_dir)]
    assert {"administrator added", "password changed", "administrator removed"} <= set(actions)


def test_bad_administrator_forms_are_400s(http):
    def form(path, **data):
        return http.post(path, data={**data, "csrf_token": token_of(http, "/admins")})

    assert "differ" in form("/admins/add", name="cy", password="12345678",
                            password2="87654321").text
    assert form("/admins/add", name="cy", password="short", password2="short").status_code == 400
    assert form("/admins/add", name="adam", password=ADAM_PASSWORD,
                password2=ADAM_PASSWORD).status_code == 400  # taken
    assert form("/admins/add", name="c:y", password="12345678",
                password2="12345678").status_code == 400
    assert "cannot remove yourself" in form("/admins/adam/remove").text
    assert form("/admins/nobody/remove").status_code == 400


def test_the_server_page_counts_handshakes_and_bytes(http):
    stats = http.get("/server/stats.json").json()
    assert stats["handshakes"] >= 1 and stats["active_connections"] >= 1
    assert stats["bytes_sent"] > 0 and stats["bytes_received"] > 0
    assert stats["groups"]
    page = http.get("/server").text
    assert '<svg id="chart"' in page and '<script src="/static/server.js">' in page
    assert http.get("/static/server.js").status_code == 200


def test_the_audit_page_lists_the_latest_entries_first(http):
    page = http.get("/audit").text
    assert page.index("login") < page.index("console created")


def test_responses_carry_the_security_headers(http):
    headers = http.get("/").headers
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["cache-control"] == "no-store"


def test_an_unknown_page_is_a_plain_404(http):
    response = http.get("/no/such/page")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/plain")


def test_a_logged_out_form_is_refused_before_its_handler(console_dir, server):
    with client(console_dir, server) as anonymous:
        token = csrf_token(anonymous.get("/login").text)
        response = anonymous.post("/admins/add", data={
            "name": "eve", "password": "12345678", "password2": "12345678",
            "csrf_token": token})
    assert response.status_code == 403
    assert "eve" not in console_dir.accounts.users()
