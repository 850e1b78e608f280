"""Headless Chromium for the browser tests: a fresh profile and NSS database each time, the
console's CA imported as a trusted authority, certificate errors never ignored."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import tempfile

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--window-size=1200,800",
         # Resolve no name but localhost's: the browser reaches nothing outside this machine.
         "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE *.localhost",
         "--disable-features=AutofillServerCommunication"]
#: What Chromium reports when the server refuses its certificate: the client-auth error, or,
#: when the server's alert arrives before the request could be sent, a closed socket.
REFUSED = ("ERR_BAD_SSL_CLIENT_AUTH_CERT", "ERR_SOCKET_NOT_CONNECTED")


def require_chromium() -> None:
    """Skip, saying what is missing, where Chromium and its tools are not installed."""
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not os.path.exists(path)]
    missing += [tool for tool in ("certutil", "pk12util") if shutil.which(tool) is None]
    if missing:
        pytest.skip("browser tests need chromium, chromium-driver and libnss3-tools "
                    "(apt-get install chromium chromium-driver libnss3-tools); missing: %s"
                    % ", ".join(missing))
    pytest.importorskip("selenium", reason="browser tests need selenium (pip install selenium)")


def _run(*command) -> None:
    subprocess.run(command, check=True, capture_output=True, timeout=60)


@contextlib.contextmanager
def chromium(ca_certificate: str, *, keystores=(), auto_select: dict | None = None):
    """A Selenium driver for Chromium trusting ``ca_certificate`` (PEM path).

    keystores: (PKCS#12 path, password) pairs imported as the browser's own certificates;
    auto_select: {origin: issuer common name}, the client certificate chosen for an origin
    without asking (Chromium's auto_select_certificate content setting).
    Yields (driver, downloads folder).
    """
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    root = tempfile.mkdtemp(prefix="console-browser-")
    try:
        home, profile, downloads = (os.path.join(root, name)
                                    for name in ("home", "profile", "downloads"))
        nssdb = os.path.join(home, ".pki", "nssdb")
        for folder in (nssdb, os.path.join(profile, "Default"), downloads):
            os.makedirs(folder)
        _run("certutil", "-d", "sql:" + nssdb, "-N", "--empty-password")
        _run("certutil", "-d", "sql:" + nssdb, "-A", "-n", "engine console CA", "-t", "C,,",
             "-i", ca_certificate)
        for path, password in keystores:
            _run("pk12util", "-d", "sql:" + nssdb, "-i", path, "-W", password)
        exceptions = {
            "%s,*" % origin: {"setting": {"filters": [{"ISSUER": {"CN": issuer}}]}}
            for origin, issuer in (auto_select or {}).items()}
        preferences = {
            "download": {"default_directory": downloads, "prompt_for_download": False},
            "profile": {"content_settings": {"exceptions": {
                "auto_select_certificate": exceptions}}},
        }
        with open(os.path.join(profile, "Default", "Preferences"), "w") as fh:
            json.dump(preferences, fh)
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in FLAGS + ["--user-data-dir=" + profile]:
            options.add_argument(flag)
        service = Service(CHROMEDRIVER, env={**os.environ, "HOME": home})
        driver = webdriver.Chrome(options=options, service=service)
        try:
            driver.set_page_load_timeout(60)
            driver.execute_cdp_cmd("Page.setDownloadBehavior",
                                   {"behavior": "allow", "downloadPath": downloads})
            yield driver, downloads
        finally:
            driver.quit()
    finally:
        shutil.rmtree(root, ignore_errors=True)


def navigation_error(driver, url: str) -> str | None:
    """Open ``url``; the network error Chromium showed instead of the page (``ERR_...``), or
    None if the page loaded. chromedriver raises for some error pages and not for others."""
    from selenium.common.exceptions import WebDriverException

    try:
        driver.get(url)
    except WebDriverException as exc:
        found = re.search(r"net::(ERR_[A-Z_]+)", str(exc))
        if found is None:
            raise
        return found.group(1)
    found = re.search(r'"errorCode":"(ERR_[A-Z_]+)"', driver.page_source)
    return found.group(1) if found else None


def fetch_text(driver, path: str) -> str:
    """GET ``path`` from the page's origin with the browser's fetch(), as text."""
    return driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch(arguments[0]).then(r => r.text()).then(done, e => done('error: ' + e));", path)


def submit(driver, button) -> None:
    """Click a form's button and wait (a minute at most) until the next page has replaced
    this one: a click returns before the navigation it starts has finished."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    page = driver.find_element(By.TAG_NAME, "html")
    button.click()
    WebDriverWait(driver, 60).until(expected_conditions.staleness_of(page))
