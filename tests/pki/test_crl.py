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


@pytest.mark.parametrize("key_type", ["p384", "ed25519", "rsa2048"])
def test_check_accepts_crls_of_every_signature_kind(key_type):
    ca = CertificateAuthority.create_root("CRL %s" % key_type, key_type=key_type)
    ca.revoke(12345)
    crl = ca.crl()
    crl.check(ca.certificate)
    assert crl.lookup(12345) is not None


def test_check_no_crl_sign(root):
    # A CA certificate for the same key and name whose KeyUsage lacks cRLSign.
    from cryptography.hazmat.primitives import hashes

    cert = root.certificate
    builder = (x509.CertificateBuilder().subject_name(cert.subject).issuer_name(cert.subject)
               .public_key(root.private_key.public_key()).serial_number(7)
               .not_valid_before(cert.not_valid_before_utc).not_valid_after(cert.not_valid_after_utc)
               .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
               .add_extension(x509.KeyUsage(False, False, False, False, False, True, False,
                                            False, False), critical=True))
    no_crl_sign = builder.sign(root.private_key, hashes.SHA256())
    with pytest.raises(CRLError) as info:
        root.crl().check(no_crl_sign)
    assert info.value.reason == "no_crl_sign"


def test_crl_window_and_metadata(root):
    start = datetime.datetime(2030, 1, 1, tzinfo=UTC)
    crl = root.crl(this_update=start, next_update=start + datetime.timedelta(hours=6))
    assert crl.this_update == start and crl.next_update == start + datetime.timedelta(hours=6)
    assert crl.issuer == root.certificate.subject
    crl.check(root.certificate, at=start + datetime.timedelta(hours=1))


def test_load_and_save_round_trip(tmp_path, root):
    crl = root.crl()
    crl.save(tmp_path / "c.pem")
    assert RevocationList.load(tmp_path / "c.pem").to_der() == crl.to_der()
    (tmp_path / "c.der").write_bytes(crl.to_der())
    assert RevocationList.load(tmp_path / "c.der").crl_number == crl.crl_number
    with pytest.raises(CRLError, match="cannot read"):
        RevocationList.load(tmp_path / "missing.pem")


def test_lookup_of_many_serials(root):
    ca = root.create_intermediate("Bulk CA")
    for serial in range(1, 2001):
        ca.revoke(serial, reason=None)
    crl = RevocationList.from_bytes(ca.crl().to_der())
    assert len(crl) == 2000
    assert all(crl.lookup(s) is not None for s in (1, 1000, 2000))
    assert crl.lookup(2001) is None and 2000 in crl
