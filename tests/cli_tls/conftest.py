"""Files for the TLS commands: the session's root CA as PEM files and KeyStores; engine
s_server runs are the s_server fixture of tests/conftest.py."""

from __future__ import annotations

import dataclasses
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


@pytest.fixture
def run_engine():
    return engine_command
