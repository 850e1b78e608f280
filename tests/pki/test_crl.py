"""RevocationList: parsing, lookup, and the checks of RFC 5280 section 6.3.3."""

from __future__ import annotations

import datetime

import pytest
from cryptography import x509

from engine.errors import CRLError
from engine.pki import CertificateAuthority, RevocationList

UTC = datetime.timezone.utc


def test_pem_and_der_give_the_same_list(intermediate):
    crl = intermediate.crl()
    assert RevocationList.from_bytes(crl.to_pem()).to_der() == crl.to_der()
    assert RevocationList.from_bytes(crl.to_der()).crl_number == crl.crl_number


def test_neither_pem_nor_der_is_malformed():
    with pytest.raises(CRLError) as info:
        RevocationList.from_bytes(b"\x30\x03garbage")
    assert info.value.reason == "malformed"


def test_lookup_finds_revoked_and_misses_others(root):
    ca = root.create_intermediate("Lookup CA")
    gone, kept = ca.issue_client("gone"), ca.issue_client("kept")
    ca.revoke(gone.serial_number, reason=None)
    crl = ca.crl()
    assert crl.lookup(gone.serial_number).reason is None
    assert crl.lookup(kept.serial_number) is None


def test_check_accepts_the_issuer(root):
    root.crl().check(root.certificate)


def test_check_wrong_issuer(root, intermediate):
    with pytest.raises(CRLError) as info:
        intermediate.crl().check(root.certificate)
    assert info.value.reason == "wrong_issuer"


def test_check_bad_signature_same_name_other_key(root):
    impostor = CertificateAuthority.create_root(
        root.certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value)
    with pytest.raises(CRLError) as info:
        impostor.crl().check(root.certificate)
    assert info.value.reason == "bad_signature"


def test_check_expired_and_not_yet_valid(root):
    crl = root.crl(validity_days=1)
    with pytest.raises(CRLError) as info:
        crl.check(root.certificate, at=datetime.datetime.now(UTC) + datetime.timedelta(days=2))
    assert info.value.reason == "expired"
    with pytest.raises(CRLError) as info:
        crl.check(root.certificate, at=datetime.datetime.now(UTC) - datetime.timedelta(days=1))
    assert info.value.reason == "not_yet_valid"
