"""A small PKI in memory for the I/O adapter tests."""

from __future__ import annotations

import dataclasses

import pytest

from engine.pki import CertificateAuthority, TrustStore


@dataclasses.dataclass
class Credentials:
    trust: TrustStore
    server: object  # KeyStore for localhost and 127.0.0.1
    client: object  # KeyStore for CN=alice
    stranger_trust: TrustStore


@pytest.fixture(scope="session")
def creds() -> Credentials:
    ca = CertificateAuthority.create_root("I/O Test Root CA")
    stranger = CertificateAuthority.create_root("Stranger CA")
    return Credentials(
        trust=TrustStore([ca.certificate]),
        server=ca.issue_server(["localhost", "127.0.0.1"]).keystore(),
        client=ca.issue_client("alice").keystore(),
        stranger_trust=TrustStore([stranger.certificate]),
    )
