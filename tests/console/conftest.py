"""Console fixtures: a console directory, the console served over engine's TLS in a thread, and
an HTTP client (httpx over Python's ssl) that trusts the console's CA."""

from __future__ import annotations

import asyncio
import contextlib
import html.parser
import ssl
import threading
import time

import pytest

pytest.importorskip("starlette", reason="the console extra is not installed")
httpx = pytest.importorskip("httpx", reason="httpx is not installed")

from engine.console import ConsoleDirectory, make_server  # noqa: E402

CA_PASSWORD = b"ca password for the tests"
ADAM_PASSWORD = "adam's long password"


def make_console(path, **options) -> ConsoleDirectory:
    return ConsoleDirectory.init(path, CA_PASSWORD, "adam", ADAM_PASSWORD, bcrypt_rounds=4,
                                 kdf_rounds=1000, **options)


@contextlib.contextmanager
def serving(directory, **options):
    """The console on localhost (127.0.0.1 and ::1), a free port, until the block ends."""
    server = make_server(directory, "localhost", 0, **options)
    failure = []

    def main():
        try:
            asyncio.run(server.serve())
        except BaseException as exc:  # reported to the test below
            failure.append(exc)

    thread = threading.Thread(target=main, daemon=True)
    thread.start()
    while not server.started and thread.is_alive():
        thread.join(0.02)
    if failure:
        raise failure[0]
    try:
        yield server
    finally:
        server.stop()
        thread.join(30)


def eventually(condition, what: str):
    """Wait for ``condition()`` to hold (a minute at most): for what the server's event loop
    records just after the client has seen it, such as a failed handshake."""
    for _ in range(6000):
        if condition():
            return
        time.sleep(0.01)
    raise AssertionError("never happened: %s" % what)


def alerts_sent(server, description: str) -> int:
    return server.stats.snapshot()["alerts"].get("sent " + description, 0)


def port_of(server) -> int:
    return server.addresses[0][1]


def ssl_context(directory, certificate=None, key=None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=directory.ca_certificate_path)
    if certificate is not None:
        context.load_cert_chain(certificate, key)
    return context


def client(directory, server, host: str = "localhost", **options) -> httpx.Client:
    host = "[%s]" % host if ":" in host else host
    return httpx.Client(base_url="https://%s:%d" % (host, port_of(server)),
                        verify=options.pop("verify", None) or ssl_context(directory),
                        **options)


class _Forms(html.parser.HTMLParser):
    """The value of every hidden csrf_token input, in page order."""

    def __init__(self):
        super().__init__()
        self.tokens = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "input" and attrs.get("name") == "csrf_token":
            self.tokens.append(attrs.get("value"))


def csrf_token(page: str) -> str:
    parser = _Forms()
    parser.feed(page)
    assert parser.tokens, "the page has no form with a CSRF token"
    return parser.tokens[0]


def login(http, name: str = "adam", password: str = ADAM_PASSWORD):
    token = csrf_token(http.get("/login").text)
    return http.post("/login", data={"username": name, "password": password,
                                     "csrf_token": token})


def token_of(http, path: str = "/certificates") -> str:
    return csrf_token(http.get(path).text)


@pytest.fixture(scope="module")
def console_dir(tmp_path_factory):
    return make_console(tmp_path_factory.mktemp("console") / "console")
