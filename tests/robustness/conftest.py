"""A small PKI for the robustness tests (made once per session)."""

from __future__ import annotations

import pytest


class SmallPKI:
    def __init__(self):
        from cryptography.hazmat.primitives.serialization import Encoding

        from engine.pki import CertificateAuthority, TrustStore

        self.root = CertificateAuthority.create_root("Robustness Root", key_type="p256")
        self.issuer = self.root.create_intermediate("Robustness Issuing CA", key_type="p256")
        self.trust = TrustStore([self.root.certificate])
        self.server = self.issuer.issue_server(["localhost", "127.0.0.1"], key_type="p256")
        self.chain = [self.server.certificate.public_bytes(Encoding.DER),
                      self.issuer.certificate.public_bytes(Encoding.DER)]


@pytest.fixture(scope="session")
def small_pki() -> SmallPKI:
    return SmallPKI()


@pytest.fixture(params=["native", "python"])
def backend(request):
    if request.param == "native":
        from engine import _backend

        try:
            _backend.native()
        except Exception:
            pytest.skip("the native extension is not built")
    return request.param
