"""Takes docs/console.png: the console's "This connection" page in headless Chromium.

    python docs/screenshot.py

Makes a throwaway console, serves it on localhost, logs Adam in through the browser (which
trusts the console's CA and nothing else) and saves the page. Needs the test extra and
chromium, chromium-driver and libnss3-tools.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import tempfile
import threading

from engine.console import ConsoleDirectory, make_server

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location(
    "browser", os.path.join(HERE, "..", "tests", "console", "browser.py"))
browser = importlib.util.module_from_spec(spec)
spec.loader.exec_module(browser)


def main() -> None:
    from selenium.webdriver.common.by import By

    with tempfile.TemporaryDirectory() as workdir:
        directory = ConsoleDirectory.init(os.path.join(workdir, "console"), b"screenshot",
                                          "adam", "adam's password", bcrypt_rounds=4)
        server = make_server(directory, "localhost", 0)
        thread = threading.Thread(target=asyncio.run, args=(server.serve(),), daemon=True)
        thread.start()
        while not server.started:
            thread.join(0.05)
        origin = "https://admin.localhost:%d" % server.addresses[0][1]
        try:
            with browser.chromium(directory.ca_certificate_path) as (driver, _):
                driver.set_window_size(1100, 640)
                driver.get(origin + "/login")
                driver.find_element(By.NAME, "username").send_keys("adam")
                driver.find_element(By.NAME, "password").send_keys("adam's password")
                driver.find_element(By.CSS_SELECTOR, "#login button").click()
                driver.save_screenshot(os.path.join(HERE, "console.png"))
        finally:
            server.stop()
            thread.join(30)


if __name__ == "__main__":
    main()
