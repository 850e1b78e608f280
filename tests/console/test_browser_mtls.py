"""Mutual TLS in headless Chromium: a client certificate of the console's CA logs Adam in, and
once revoked it is refused by the very next handshake."""

from __future__ import annotations

import pytest

from engine.console.store import CA_NAME
from engine.console.throttle import LoginThrottle
from engine.pki import KeyStore

from .browser import REFUSED, chromium, navigation_error, require_chromium, submit
from .conftest import alerts_sent, client, eventually, login, port_of, serving, token_of

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(console_dir):
    require_chromium()
    with serving(console_dir, client_certificates=True,
                 throttle=LoginThrottle(limit=1000)) as running:
        yield running


@pytest.fixture(scope="module")
def adams_keystore(console_dir, server, tmp_path_factory):
    """Adam's client certificate, issued through the console with his password."""
    with client(console_dir, server) as http:
        assert login(http).status_code == 303
        response = http.post("/certificates/issue", data={
            "kind": "client", "names": "adam", "days": "30", "keystore_password": "phone",
            "csrf_token": token_of(http)})
    path = tmp_path_factory.mktemp("keystores") / "adam.p12"
    path.write_bytes(response.content)
    return str(path), KeyStore.from_bytes(response.content, "phone").certificate


@pytest.fixture(scope="module")
def browser(console_dir, server, adams_keystore):
    origin = "https://localhost:%d" % port_of(server)
    with chromium(console_dir.ca_certificate_path, keystores=[(adams_keystore[0], "phone")],
                  auto_select={origin: CA_NAME}) as (driver, _):
        yield driver


def test_a_client_certificate_of_the_console_ca_logs_adam_in(browser, server, adams_keystore):
    from selenium.webdriver.common.by import By

    certificate = adams_keystore[1]
    browser.get("https://localhost:%d/" % port_of(server))
    assert browser.find_element(By.ID, "who").text == "adam"
    assert "serial %x" % certificate.serial_number in \
        browser.find_element(By.ID, "tls-client-cert").text


def test_a_revoked_client_certificate_is_refused_by_the_handshake(browser, server, console_dir,
                                                                  adams_keystore):
    from selenium.webdriver.common.by import By

    serial = adams_keystore[1].serial_number
    browser.get("https://localhost:%d/certificates" % port_of(server))
    row = browser.find_element(By.CSS_SELECTOR, 'tr[data-serial="%x"]' % serial)
    submit(browser, row.find_element(By.TAG_NAME, "button"))  # Adam revokes his own certificate
    revoked = [r for r in console_dir.ca.records() if r.serial == serial][0].revoked
    assert revoked is not None
    # Its connections are closed; the next page needs a new handshake, with the new CRL.
    eventually(lambda: not any(tls.handshake is not None and tls.handshake.peer_chain
                               for tls in server.stats.live()),
               "the connections of the revoked certificate are closed")
    before = alerts_sent(server, "certificate_revoked")
    assert navigation_error(browser, "https://localhost:%d/" % port_of(server)) in REFUSED
    eventually(lambda: alerts_sent(server, "certificate_revoked") > before,
               "the server refused the revoked certificate with a certificate_revoked alert")
