"""Peers for the tests that talk over sockets: engine servers on a thread, Python's ssl and
the ``openssl`` binary as independent stacks, and the small helpers every such test needs.

Every process and thread started here is bounded by :data:`TIMEOUT` and stopped by the fixture
that started it (see :func:`started` and tests/conftest.py).
"""

from __future__ import annotations

import contextlib
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time

import pytest

from .certificates import Identity

OPENSSL = shutil.which("openssl")
TIMEOUT = 10.0
COMMAND_TIMEOUT = 20.0  # a command of engine's own, which imports the package first

needs_openssl = pytest.mark.skipif(OPENSSL is None, reason="the openssl binary is not on PATH")


def started(make):
    """The body of a fixture that starts peers: yields ``start(*args)``, which makes one with
    ``make`` and keeps it, and stops every one at teardown."""
    peers = []

    def start(*args, **options):
        peer = make(*args, **options)
        peers.append(peer)
        return peer

    yield start
    for peer in peers:
        peer.stop()


def echo(tls) -> None:
    """A handler that sends back what it reads until the peer's close_notify or end of file."""
    while data := tls.recv(65536):
        tls.sendall(data)


def wait_for(condition, timeout: float = TIMEOUT) -> None:
    """Wait until ``condition()`` holds; AssertionError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


@contextlib.contextmanager
def serving(server, **options):
    """``server.serve_forever(stop=..., **options)`` (an engine.blocking.Server) in a thread,
    stopped when the block ends."""
    stop = threading.Event()
    thread = threading.Thread(target=server.serve_forever, kwargs={"stop": stop, **options},
                              daemon=True)
    thread.start()
    try:
        yield server
    finally:
        stop.set()
        thread.join(TIMEOUT)
        assert not thread.is_alive()


# --- openssl processes --------------------------------------------------------------------------


class OpenSSLProcess:
    """An ``openssl s_server`` or ``s_client`` with its output collected by a thread."""

    def __init__(self, args):
        if OPENSSL is None:
            pytest.skip("the openssl binary is not on PATH")
        self.args = [OPENSSL] + list(args)
        self.proc = subprocess.Popen(self.args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        self._output = bytearray()
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            data = self.proc.stdout.read1(65536)
            with self._changed:
                if not data:
                    self._changed.notify_all()
                    return
                self._output += data
                self._changed.notify_all()

    @property
    def output(self) -> str:
        with self._changed:
            return self._output.decode("latin-1")

    def mark(self) -> int:
        with self._changed:
            return len(self._output)

    def wait_for(self, pattern: str, *, since: int = 0, timeout: float = TIMEOUT):
        """The first match of regex ``pattern`` in the output after ``since``; fails on timeout."""
        regex = re.compile(pattern.encode())
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                match = regex.search(self._output, since)
                if match:
                    return match
                left = deadline - time.monotonic()
                if left <= 0 or (not self._reader.is_alive() and not match):
                    pytest.fail("openssl did not print %r within %.0fs; output:\n%s"
                                % (pattern, timeout, self._output[-3000:].decode("latin-1")))
                self._changed.wait(min(left, 0.1))

    def wait_count(self, text: str, count: int, *, timeout: float = TIMEOUT) -> None:
        """Wait until ``text`` occurs at least ``count`` times in the output."""
        needle = text.encode()
        with self._changed:
            if not self._changed.wait_for(
                    lambda: self._output.count(needle) >= count or not self._reader.is_alive(),
                    timeout) or self._output.count(needle) < count:
                pytest.fail("openssl printed %r fewer than %d times; output:\n%s"
                            % (text, count, self._output[-3000:].decode("latin-1")))

    def write(self, data: bytes) -> None:
        """Write to openssl's stdin; if it has exited already, what it printed tells why."""
        with contextlib.suppress(BrokenPipeError):
            self.proc.stdin.write(data)
            self.proc.stdin.flush()

    def close_stdin(self) -> None:
        with contextlib.suppress(OSError):
            self.proc.stdin.close()

    def wait(self, timeout: float = TIMEOUT) -> int:
        return self.proc.wait(timeout)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(TIMEOUT)
        self._reader.join(TIMEOUT)
        for stream in (self.proc.stdin, self.proc.stdout):
            with contextlib.suppress(OSError):
                stream.close()


class OpenSSLServer(OpenSSLProcess):
    """``openssl s_server -tls1_3`` on 127.0.0.1 and a free port."""

    def __init__(self, identity: Identity, *extra: str):
        super().__init__(["s_server", "-accept", "127.0.0.1:0", "-tls1_3",
                          *identity.openssl_args(), *extra])
        try:
            self.port = int(self.wait_for(r"ACCEPT [^\n]*:(\d+)").group(1))
        except BaseException:
            self.stop()
            raise


class OpenSSLClient(OpenSSLProcess):
    """``openssl s_client -tls1_3`` to 127.0.0.1:``port``."""

    def __init__(self, port: int, *extra: str):
        super().__init__(["s_client", "-connect", "127.0.0.1:%d" % port, "-tls1_3", *extra])


# --- engine s_server ------------------------------------------------------------------------------


class SServer:
    """``engine s_server --port 0`` in a subprocess; ``port`` from its ACCEPT line."""

    def __init__(self, *args: str, env=None):
        """``args``: the options of ``engine s_server`` after ``--port 0``."""
        self.stderr = ""
        self.proc = subprocess.Popen([sys.executable, "-m", "engine", "s_server", "--port", "0",
                                      *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env=env)
        self.port = 0
        line = self.proc.stdout.readline().decode()
        match = re.match(r"ACCEPT 127\.0\.0\.1:(\d+)", line)
        if not match:
            self.stop()
            pytest.fail("s_server did not start: %r %s" % (line, self.stderr))
        self.port = int(match.group(1))

    def stop(self) -> int:
        """SIGTERM, then its exit status; ``stderr`` is what it printed. Once is enough."""
        if self.proc.stdout.closed:
            return self.proc.returncode
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(COMMAND_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait(COMMAND_TIMEOUT)
        self.stderr = self.proc.stderr.read().decode()
        self.proc.stdout.close()
        self.proc.stderr.close()
        return code


# --- servers on a thread -------------------------------------------------------------------------


class Recorder:
    """A server on a thread (``thread``, stopped by setting ``_stop``): what it saw
    (``errors`` and the like), and waiting for it."""

    def __init__(self):
        self.errors: list = []
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self.thread: threading.Thread | None = None

    def _add(self, seen: list, item) -> None:
        with self._changed:
            seen.append(item)
            self._changed.notify_all()

    def _latest(self, seen: list, timeout: float, failure: str):
        """The latest item of ``seen`` once there is one; the test fails after ``timeout``."""
        with self._changed:
            if not self._changed.wait_for(lambda: seen, timeout):
                pytest.fail(failure)
            return seen[-1]

    def wait_error(self, timeout: float = TIMEOUT):
        return self._latest(self.errors, timeout, "%s saw no error" % type(self).__name__)

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(TIMEOUT)


class EngineServer(Recorder):
    """engine.blocking.Server on 127.0.0.1:0 in a thread, recording handshakes and failures."""

    def __init__(self, config, handler=None):
        from engine.blocking import Server

        super().__init__()
        self.handshakes: list = []
        self._handler = handler or echo
        self.server = Server("127.0.0.1", 0, config, self._on_connection,
                             handshake_timeout=TIMEOUT, on_error=self._on_error)
        self.port = self.server.port
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"stop": self._stop, "drain_timeout": 2.0},
                                       daemon=True)
        self.thread.start()

    def _on_connection(self, tls) -> None:
        self._add(self.handshakes, tls.handshake)
        self._handler(tls)

    def _on_error(self, address, exc) -> None:
        self._add(self.errors, exc)

    def wait_handshake(self, timeout: float = TIMEOUT):
        return self._latest(self.handshakes, timeout, "the engine server completed no "
                            "handshake; errors: %r" % self.errors)


class PythonSSLServer(Recorder):
    """An ssl.SSLContext server on 127.0.0.1:0 answering one connection at a time."""

    def __init__(self, context: ssl.SSLContext, handler=None):
        super().__init__()
        self.context = context
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.1)
        self.port = self.listener.getsockname()[1]
        self.sessions: list = []
        self._handler = handler or _ssl_echo
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                sock, _ = self.listener.accept()
            except (TimeoutError, OSError):
                continue
            sock.settimeout(TIMEOUT)
            try:
                with self.context.wrap_socket(sock, server_side=True) as tls:
                    self._add(self.sessions, {"cipher": tls.cipher()[0],
                                              "version": tls.version(),
                                              "peer": tls.getpeercert()})
                    self._handler(tls)
            except (ssl.SSLError, OSError) as exc:
                self._add(self.errors, exc)
            finally:
                sock.close()

    def wait_session(self, timeout: float = TIMEOUT):
        return self._latest(self.sessions, timeout, "the ssl server completed no handshake; "
                            "errors: %r" % self.errors)

    def stop(self) -> None:
        super().stop()
        self.listener.close()


def _ssl_echo(tls) -> None:
    while True:
        try:
            data = tls.recv(65536)
        except ssl.SSLZeroReturnError:
            return
        if not data:
            return
        tls.sendall(data)
    # the context manager closes


def ssl_server_context(identity: Identity, *, client_ca: str | None = None) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.load_cert_chain(identity.cert_path, identity.key_path)
    context.num_tickets = 0
    if client_ca:
        context.load_verify_locations(client_ca)
        context.verify_mode = ssl.CERT_REQUIRED
    return context


def ssl_client_context(ca_path: str, *, crl_path: str | None = None,
                       identity: Identity | None = None) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.load_verify_locations(ca_path)
    if crl_path:
        context.load_verify_locations(crl_path)
        context.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF
    if identity is not None:
        context.load_cert_chain(identity.cert_path, identity.key_path)
    return context


# --- Python ssl through memory BIOs -------------------------------------------------------------


class BioPeer:
    """Python's ssl (OpenSSL) over a blocking socket through memory BIOs.

    ``ssl.SSLSocket`` can only send close_notify through ``unwrap()``, which then waits for the
    peer's; an SSLObject can send it and keep reading, so it half-closes as RFC 8446 section
    6.1 allows. ``read_to_end`` says how the peer's direction ended: ``"close_notify"`` or
    ``"eof"`` (the transport closed without it).
    """

    def __init__(self, sock: socket.socket, context: ssl.SSLContext, *, server_side: bool,
                 server_hostname: str | None = None):
        sock.settimeout(TIMEOUT)
        self.sock = sock
        self._in = ssl.MemoryBIO()
        self._out = ssl.MemoryBIO()
        self.obj = context.wrap_bio(self._in, self._out, server_side=server_side,
                                    server_hostname=server_hostname)

    def _flush(self) -> None:
        data = self._out.read()
        if data:
            self.sock.sendall(data)

    def _fill(self) -> None:
        data = self.sock.recv(65536)
        if data:
            self._in.write(data)
        else:
            self._in.write_eof()

    def handshake(self) -> None:
        while True:
            try:
                self.obj.do_handshake()
                self._flush()
                return
            except ssl.SSLWantReadError:
                self._flush()
                self._fill()

    def write(self, data: bytes) -> None:
        self.obj.write(data)
        self._flush()

    def send_close_notify(self) -> None:
        try:
            self.obj.unwrap()
        except ssl.SSLWantReadError:
            pass  # ours is sent; reading the peer's is up to read_to_end
        self._flush()

    def read_to_end(self) -> tuple:
        received = bytearray()
        while True:
            try:
                data = self.obj.read(65536)
            except ssl.SSLWantReadError:
                self._fill()
                continue
            except ssl.SSLZeroReturnError:
                return bytes(received), "close_notify"
            except ssl.SSLEOFError:
                return bytes(received), "eof"
            if not data:
                return bytes(received), "close_notify"
            received += data

    def close(self) -> None:
        self.sock.close()


# --- an HTTPS server of the standard library ----------------------------------------------------


class HTTPSServer:
    """``http.server`` behind ``ssl`` on 127.0.0.1:0, in a thread: HTTP/1.1 with keep-alive.

    ``GET /hello`` answers ``hello <n>`` (n counts requests), ``GET /close`` answers and closes
    (``Connection: close``), ``POST`` echoes the body; ``connections`` counts TCP connections.
    """

    def __init__(self, context: ssl.SSLContext):
        import http.server

        owner = self
        self.connections = 0
        self.requests = 0

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self):
                owner.connections += 1
                super().setup()

            def _answer(self, body: bytes, close: bool = False):
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                if close:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                owner.requests += 1
                self._answer(b"hello %d" % owner.requests, close=self.path == "/close")

            def do_POST(self):
                owner.requests += 1
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                self._answer(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(TIMEOUT)
