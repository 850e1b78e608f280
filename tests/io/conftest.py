"""The I/O adapter tests' view of the session's certificates."""

from __future__ import annotations

import dataclasses

import pytest

from engine.pki import TrustStore


@dataclasses.dataclass
class Credentials:
    trust: TrustStore
    server: object  # KeyStore for localhost and 127.0.0.1
    client: object  # KeyStore for CN=alice
    stranger_trust: TrustStore


@pytest.fixture(scope="session")
def creds(certificates) -> Credentials:
    return Credentials(
        trust=TrustStore([certificates.root.certificate]),
        server=certificates.server().keystore(),
        client=certificates.client("alice").keystore(),
        stranger_trust=TrustStore([certificates.stranger.certificate]),
    )
