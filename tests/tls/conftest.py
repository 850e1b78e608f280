"""Shared PKI for the TLS tests (made once per session) and this folder on sys.path."""

from __future__ import annotations

import datetime
import sys
from pathlib import Path

import pytest

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)


class PKIFixture:
    """A root, an issuing CA, and server and client certificates of every key type."""

    def __init__(self):
        from engine.pki import CertificateAuthority, TrustStore

        self.root = CertificateAuthority.create_root("TLS Test Root", key_type="p256")
        self.issuer = self.root.create_intermediate("TLS Test Issuing CA", key_type="p256")
        self.trust = TrustStore([self.root.certificate])
        self.servers = {}
        for key_type in ("p256", "p384", "ed25519", "rsa2048"):
            self.servers[key_type] = self.issuer.issue_server(
                ["localhost", "127.0.0.1"], key_type=key_type
            ).keystore()
        self.other_name = self.issuer.issue_server(["other.example"], key_type="p256").keystore()
        self.client = self.issuer.issue_client("alice", key_type="p256").keystore()
        revoked = self.issuer.issue_client("mallory", key_type="p256")
        self.revoked_client = revoked.keystore()
        revoked_server = self.issuer.issue_server(["localhost"], key_type="p256")
        self.revoked_server = revoked_server.keystore()
        self.issuer.revoke(revoked.certificate.serial_number)
        self.issuer.revoke(revoked_server.certificate.serial_number)
        self.crls = (self.root.crl(), self.issuer.crl())
        past = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=30)
        self.expired_server = self.issuer.issue_server(
            ["localhost"], not_before=past, not_after=past + datetime.timedelta(days=1)
        ).keystore()
        stranger = CertificateAuthority.create_root("Stranger Root", key_type="p256")
        self.untrusted_server = stranger.issue_server(["localhost"]).keystore()
        self.untrusted_client = stranger.issue_client("eve").keystore()


@pytest.fixture(scope="session")
def pki() -> PKIFixture:
    return PKIFixture()
