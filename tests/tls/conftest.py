"""The TLS tests' view of the session's certificates: KeyStores of every key type."""

from __future__ import annotations

import pytest

from tests._support.certificates import KEY_TYPES


class PKIFixture:
    """A root, an issuing CA, and server and client certificates of every key type."""

    def __init__(self, certificates):
        from engine.pki import TrustStore

        self.root = certificates.root
        self.issuer = certificates.issuer
        self.trust = TrustStore([self.root.certificate])
        self.servers = {key_type: certificates.server(key_type=key_type).keystore()
                        for key_type in KEY_TYPES}
        self.other_name = certificates.server(names=["other.example"]).keystore()
        self.client = certificates.client("alice").keystore()
        self.revoked_client = certificates.client("mallory", revoked=True).keystore()
        self.revoked_server = certificates.server(revoked=True).keystore()
        self.crls = (self.root.crl(), self.issuer.crl())
        self.expired_server = certificates.server(expired=True).keystore()
        stranger = certificates.stranger
        self.untrusted_server = certificates.server(stranger).keystore()
        self.untrusted_client = certificates.client("eve", stranger).keystore()


@pytest.fixture(scope="session")
def pki(certificates) -> PKIFixture:
    return PKIFixture(certificates)
