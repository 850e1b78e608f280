"""Files and processes for the TLS commands: the session's root CA as PEM files and KeyStores,
and s_server runs."""

from __future__ import annotations

import contextlib
import dataclasses
import re
import signal
import subprocess
import sys

import pytest

from tests._support.certificates import key_pem, pem, write

TIMEOUT = 20


@dataclasses.dataclass
class Files:
    ca: str
    cert: str
    key: str
    keystore: str
    password_file: str
    client_cert: str
    client_key: str
    client_keystore: str
    crl: str
    revoked_cert: str
    revoked_key: str
    stranger_ca: str


@pytest.fixture(scope="session")
def files(certificates, tmp_path_factory) -> Files:
    d = tmp_path_factory.mktemp("cli-tls")
    root = certificates.root
    server = certificates.server(root)
    client = certificates.client("alice", root)
    revoked = certificates.server(root, revoked=True)
    password = b"correct horse battery staple"
    keystore = str(d / "server.p12")
    server.keystore().save(keystore, password, kdf_rounds=1000)
    client_keystore = str(d / "client.p12")
    client.keystore().save(client_keystore, password, kdf_rounds=1000)
    return Files(
        ca=write(d / "ca.pem", pem(root.certificate)),
        cert=write(d / "server.crt", pem(server.certificate)),
        key=write(d / "server.key", key_pem(server.private_key)),
        keystore=keystore,
        password_file=write(d / "password.txt", password + b"\n"),
        client_cert=write(d / "client.crt", pem(client.certificate)),
        client_key=write(d / "client.key", key_pem(client.private_key)),
        client_keystore=client_keystore,
        crl=write(d / "ca.crl", root.crl().to_pem()),
        revoked_cert=write(d / "revoked.crt", pem(revoked.certificate)),
        revoked_key=write(d / "revoked.key", key_pem(revoked.private_key)),
        stranger_ca=write(d / "stranger.pem", pem(certificates.stranger.certificate)),
    )


def engine_command(*args: str, stdin: bytes = b"", env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "engine", *args], input=stdin,
                          capture_output=True, timeout=TIMEOUT, env=env)


class SServer:
    """``engine s_server --port 0`` in a subprocess; ``port`` from its ACCEPT line."""

    def __init__(self, *args: str, env=None):
        self.stderr = ""
        self.proc = subprocess.Popen([sys.executable, "-m", "engine", "s_server", "--port", "0",
                                      *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env=env)
        line = self.proc.stdout.readline().decode()
        match = re.match(r"ACCEPT 127\.0\.0\.1:(\d+)", line)
        if not match:
            self.stop()
            pytest.fail("s_server did not start: %r %s" % (line, self.stderr))
        self.port = int(match.group(1))

    def stop(self) -> int:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait(TIMEOUT)
        self.stderr = self.proc.stderr.read().decode()
        self.proc.stdout.close()
        self.proc.stderr.close()
        return code


@pytest.fixture
def s_server():
    started = []

    def start(*args: str, env=None) -> SServer:
        server = SServer(*args, env=env)
        started.append(server)
        return server

    yield start
    for server in started:
        if server.proc.returncode is None:
            server.stop()


@pytest.fixture
def run_engine():
    return engine_command
