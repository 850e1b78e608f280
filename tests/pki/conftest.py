from __future__ import annotations

import pytest

from engine.pki import CertificateAuthority


@pytest.fixture(scope="module")
def root():
    return CertificateAuthority.create_root("Test Root CA")


@pytest.fixture(scope="module")
def intermediate(root):
    return root.create_intermediate("Test Issuing CA")
