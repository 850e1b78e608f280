"""Fixtures for talking to independent TLS stacks: a PKI on disk, openssl processes, engine and
Python ssl servers on loopback threads.

Every process and thread started here is bounded by a timeout and stopped in teardown.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import os
import re
import shutil
import socket
import ssl
import subprocess
import threading
import time

import pytest
from cryptography.hazmat.primitives import serialization

from engine.pki import CertificateAuthority, TrustStore

OPENSSL = shutil.which("openssl")
TIMEOUT = 10.0
KEY_TYPES = ("p256", "p384", "ed25519", "rsa2048")
SUITES = ("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256")
# engine group name -> openssl -groups name
OPENSSL_GROUPS = {"x25519": "X25519", "secp256r1": "P-256", "secp384r1": "P-384"}

needs_openssl = pytest.mark.skipif(OPENSSL is None, reason="the openssl binary is not on PATH")


def pytest_collection_modifyitems(items):
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.fspath).startswith(here):
            item.add_marker(pytest.mark.interop)


# --- the PKI ------------------------------------------------------------------------------------


@dataclasses.dataclass
class Identity:
    """A certificate with its key, in memory (KeyStore) and on disk (PEM files)."""

    keystore: object
    cert_path: str  # leaf then intermediates
    key_path: str  # PKCS#8, unencrypted
    chain_path: str | None  # the intermediates alone (None if issued by a root)

    def openssl_args(self) -> list:
        """-cert/-key (and -cert_chain) options for openssl s_server and s_client."""
        args = ["-cert", self.cert_path, "-key", self.key_path]
        if self.chain_path:
            args += ["-cert_chain", self.chain_path]
        return args

    @property
    def certificate(self):
        return self.keystore.certificate


@dataclasses.dataclass
class PKI:
    root: object
    issuing: object  # intermediate CA that issues the server certificates
    ca_path: str  # the root, PEM
    trust: TrustStore
    crls: list  # RevocationLists of the root and the issuing CA
    crl_path: str  # the issuing CA's CRL, PEM (what openssl -crl_check needs for a leaf)
    crl_all_path: str  # both CRLs, PEM
    root_crl_path: str  # the root's CRL, PEM
    servers: dict  # key type -> Identity
    client: Identity  # CN=alice, issued by the root
    revoked: Identity
    expired: Identity
    stranger: Identity  # a server certificate from a CA nobody trusts
    stranger_ca_path: str
    stranger_client: Identity
    other: Identity  # a server certificate for other.example (SNI selection)


def _write(path, data: bytes) -> str:
    with open(path, "wb") as fh:
        fh.write(data)
    return str(path)


def _identity(directory, name: str, issued) -> Identity:
    chain_pem = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in issued.chain)
    key_pem = issued.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption())
    extra_pem = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in issued.chain[1:])
    return Identity(issued.keystore(), _write(directory / ("%s.crt" % name), chain_pem),
                    _write(directory / ("%s.key" % name), key_pem),
                    _write(directory / ("%s.chain" % name), extra_pem) if extra_pem else None)


@pytest.fixture(scope="session")
def pki(tmp_path_factory) -> PKI:
    directory = tmp_path_factory.mktemp("interop-pki")
    root = CertificateAuthority.create_root("Interop Root CA", key_type="p256")
    issuing = root.create_intermediate("Interop Issuing CA", key_type="p256")
    names = ["localhost", "127.0.0.1"]
    servers = {kt: _identity(directory, "server-%s" % kt, issuing.issue_server(names, key_type=kt))
               for kt in KEY_TYPES}
    revoked_cert = issuing.issue_server(names)
    issuing.revoke(revoked_cert.serial_number)
    now = datetime.datetime.now(datetime.timezone.utc)
    expired_cert = issuing.issue_server(names, not_before=now - datetime.timedelta(days=30),
                                        not_after=now - datetime.timedelta(days=1))
    client = _identity(directory, "client", root.issue_client("alice"))
    crls = [root.crl(), issuing.crl()]
    stranger_ca = CertificateAuthority.create_root("Stranger Root CA")
    return PKI(
        root=root, issuing=issuing,
        ca_path=_write(directory / "ca.pem", root.certificate.public_bytes(
            serialization.Encoding.PEM)),
        trust=TrustStore([root.certificate]),
        crls=crls,
        crl_path=_write(directory / "issuing.crl.pem", crls[1].to_pem()),
        crl_all_path=_write(directory / "all.crl.pem", crls[0].to_pem() + crls[1].to_pem()),
        root_crl_path=_write(directory / "root.crl.pem", crls[0].to_pem()),
        servers=servers, client=client,
        revoked=_identity(directory, "revoked", revoked_cert),
        expired=_identity(directory, "expired", expired_cert),
        stranger=_identity(directory, "stranger", stranger_ca.issue_server(names)),
        stranger_ca_path=_write(directory / "stranger-ca.pem", stranger_ca.certificate.public_bytes(
            serialization.Encoding.PEM)),
        stranger_client=_identity(directory, "stranger-client",
                                  stranger_ca.issue_client("mallory")),
        other=_identity(directory, "other", issuing.issue_server(["other.example"])),
    )


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


@pytest.fixture
def openssl_server():
    """Start ``openssl s_server`` with the given identity and options; stopped at teardown."""
    started = []

    def start(identity: Identity, *extra: str) -> OpenSSLServer:
        server = OpenSSLServer(identity, *extra)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def openssl_client():
    """Start ``openssl s_client -tls1_3`` to 127.0.0.1:port; stopped at teardown."""
    started = []

    def start(port: int, *extra: str) -> OpenSSLProcess:
        client = OpenSSLProcess(["s_client", "-connect", "127.0.0.1:%d" % port, "-tls1_3",
                                 *extra])
        started.append(client)
        return client

    yield start
    for client in started:
        client.stop()


# --- engine servers on a thread -----------------------------------------------------------------


class EngineServer:
    """engine.blocking.Server on 127.0.0.1:0 in a thread, recording handshakes and failures."""

    def __init__(self, config, handler=None):
        from engine.blocking import Server

        self.handshakes = []
        self.errors = []
        self.done = threading.Event()
        self._handler = handler or echo
        self._changed = threading.Condition()
        self.stop_event = threading.Event()
        self.server = Server("127.0.0.1", 0, config, self._on_connection,
                             handshake_timeout=TIMEOUT, on_error=self._on_error)
        self.port = self.server.port
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"stop": self.stop_event, "drain_timeout": 2.0},
                                       daemon=True)
        self.thread.start()

    def _on_connection(self, tls) -> None:
        with self._changed:
            self.handshakes.append(tls.handshake)
            self._changed.notify_all()
        self._handler(tls)

    def _on_error(self, address, exc) -> None:
        with self._changed:
            self.errors.append(exc)
            self._changed.notify_all()

    def wait_error(self, timeout: float = TIMEOUT):
        with self._changed:
            if not self._changed.wait_for(lambda: self.errors, timeout):
                pytest.fail("the engine server saw no failed handshake")
            return self.errors[-1]

    def wait_handshake(self, timeout: float = TIMEOUT):
        with self._changed:
            if not self._changed.wait_for(lambda: self.handshakes, timeout):
                pytest.fail("the engine server completed no handshake; errors: %r" % self.errors)
            return self.handshakes[-1]

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join(TIMEOUT)


def echo(tls) -> None:
    while True:
        data = tls.recv(65536)
        if not data:
            return
        tls.sendall(data)


@pytest.fixture
def engine_server():
    started = []

    def start(config, handler=None) -> EngineServer:
        server = EngineServer(config, handler)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


# --- Python ssl servers on a thread -------------------------------------------------------------


class PythonSSLServer:
    """An ssl.SSLContext server on 127.0.0.1:0 answering one connection at a time."""

    def __init__(self, context: ssl.SSLContext, handler=None):
        self.context = context
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.1)
        self.port = self.listener.getsockname()[1]
        self.errors = []
        self.sessions = []
        self._handler = handler or _ssl_echo
        self._stop = threading.Event()
        self._changed = threading.Condition()
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
                    with self._changed:
                        self.sessions.append({"cipher": tls.cipher()[0], "version": tls.version(),
                                              "peer": tls.getpeercert()})
                        self._changed.notify_all()
                    self._handler(tls)
            except (ssl.SSLError, OSError) as exc:
                with self._changed:
                    self.errors.append(exc)
                    self._changed.notify_all()
            finally:
                sock.close()

    def wait_error(self, timeout: float = TIMEOUT):
        with self._changed:
            if not self._changed.wait_for(lambda: self.errors, timeout):
                pytest.fail("the ssl server saw no error")
            return self.errors[-1]

    def wait_session(self, timeout: float = TIMEOUT):
        with self._changed:
            if not self._changed.wait_for(lambda: self.sessions, timeout):
                pytest.fail("the ssl server completed no handshake; errors: %r" % self.errors)
            return self.sessions[-1]

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(TIMEOUT)
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


@pytest.fixture
def ssl_server():
    started = []

    def start(context, handler=None) -> PythonSSLServer:
        server = PythonSSLServer(context, handler)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


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


@pytest.fixture
def https_server(pki):
    """An HTTPS server of the standard library with the p256 server certificate."""
    server = HTTPSServer(ssl_server_context(pki.servers["p256"]))
    yield server
    server.stop()


@pytest.fixture
def helpers():
    """The module-level helpers, for test files (conftest is not importable by name)."""
    import types

    return types.SimpleNamespace(
        Identity=Identity, OpenSSLProcess=OpenSSLProcess, echo=echo, TIMEOUT=TIMEOUT,
        KEY_TYPES=KEY_TYPES, SUITES=SUITES, OPENSSL_GROUPS=OPENSSL_GROUPS,
        ssl_server_context=ssl_server_context, ssl_client_context=ssl_client_context,
        BioPeer=BioPeer,
    )
