"""Adam's console in headless Chromium: the browser trusts the console's CA (imported into a
fresh NSS database) and nothing else; certificate errors are never ignored."""

from __future__ import annotations

import os
import time

import pytest

from engine.console.throttle import LoginThrottle
from engine.pki import KeyStore, RevocationList

from .browser import chromium, fetch_text, require_chromium, submit
from .conftest import ADAM_PASSWORD, port_of, serving

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(console_dir):
    require_chromium()
    with serving(console_dir, throttle=LoginThrottle(limit=1000)) as running:
        yield running


@pytest.fixture(scope="module")
def browser(console_dir, server):
    with chromium(console_dir.ca_certificate_path) as (driver, downloads):
        yield driver, downloads


def url(server, path="/") -> str:
    return "https://admin.localhost:%d%s" % (port_of(server), path)


def log_in(driver, server, password):
    from selenium.webdriver.common.by import By

    driver.get(url(server, "/login"))
    driver.find_element(By.NAME, "username").send_keys("adam")
    driver.find_element(By.NAME, "password").send_keys(password)
    submit(driver, driver.find_element(By.CSS_SELECTOR, "#login button"))


def text_of(driver, element_id: str) -> str:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.ID, element_id).text


def test_a_wrong_password_is_refused(browser, server):
    driver, _ = browser
    log_in(driver, server, "not adam's password")
    assert driver.current_url == url(server, "/login")
    assert text_of(driver, "error") == "Wrong user name or password."


def test_the_right_password_shows_tls13_and_the_group_chromium_negotiated(browser, server):
    driver, _ = browser
    log_in(driver, server, ADAM_PASSWORD)
    assert driver.current_url == url(server, "/")
    assert text_of(driver, "who") == "adam"
    assert text_of(driver, "tls-version") == "TLS 1.3"
    group = text_of(driver, "tls-group")
    assert set(server.stats.snapshot()["groups"]) == {group}  # Chromium's handshakes only
    assert text_of(driver, "tls-pq").startswith("yes" if group == "X25519MLKEM768" else "no")
    assert text_of(driver, "tls-sni") == "admin.localhost"


def _downloaded(folder: str, suffix: str) -> str:
    """The file a download saved in ``folder``, once Chromium has finished it (a minute at
    most): it writes to a .crdownload file first, beside an empty placeholder."""
    for _ in range(600):
        names = os.listdir(folder)
        done = [name for name in names if name.endswith(suffix)
                and os.path.getsize(os.path.join(folder, name)) > 0]
        if done and not any(name.endswith(".crdownload") for name in names):
            return os.path.join(folder, done[0])
        time.sleep(0.1)
    raise AssertionError("no %s file was downloaded" % suffix)


def test_adam_issues_and_revokes_a_client_certificate_and_the_crl_lists_it(browser, server):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    driver, downloads = browser
    driver.get(url(server, "/certificates"))
    form = driver.find_element(By.ID, "issue")
    Select(form.find_element(By.NAME, "kind")).select_by_value("client")
    form.find_element(By.NAME, "names").send_keys("adam")
    form.find_element(By.NAME, "keystore_password").send_keys("laptop password")
    form.find_element(By.TAG_NAME, "button").click()
    keystore_file = _downloaded(downloads, ".p12")
    with open(keystore_file, "rb") as fh:
        serial = KeyStore.from_bytes(fh.read(), "laptop password").certificate.serial_number

    driver.get(url(server, "/certificates"))
    row = driver.find_element(By.CSS_SELECTOR, 'tr[data-serial="%x"]' % serial)
    Select(row.find_element(By.NAME, "reason")).select_by_value("keyCompromise")
    submit(driver, row.find_element(By.TAG_NAME, "button"))
    assert "Revoked %x" % serial in driver.find_element(By.CLASS_NAME, "flash").text
    row = driver.find_element(By.CSS_SELECTOR, 'tr[data-serial="%x"]' % serial)
    assert "revoked (keyCompromise)" in row.text

    crl = RevocationList.from_bytes(fetch_text(driver, "/crl.pem"))
    assert crl.crl.get_revoked_certificate_by_serial_number(serial) is not None
