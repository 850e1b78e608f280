"""Damaged input gives a typed error from engine.errors, never another exception."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.errors import CAError, CRLError, KeyStoreError, TrustStoreError
from engine.pki import KeyStore, RevocationList, TrustStore
from engine.pki._der import CORRUPT, TRUNCATED, WELL_FORMED, classify_pfx
from engine.pki.ca import general_name

PASSWORD = b"robust"


@pytest.fixture(scope="module")
def p12(intermediate):
    leaf = intermediate.issue_server(["robust.test"])
    return leaf.keystore().to_bytes(PASSWORD, kdf_rounds=1000)


def test_a_sound_file_is_well_formed(p12):
    assert classify_pfx(p12) == WELL_FORMED


def test_every_proper_prefix_is_truncated(p12):
    for size in range(1, len(p12)):
        with pytest.raises(KeyStoreError, match="truncated"):
            KeyStore.from_bytes(p12[:size], PASSWORD)


@pytest.fixture(scope="module")
def root_crl(root):
    return root.crl()


def same_content(a: KeyStore, b: KeyStore) -> bool:
    return a.certificate == b.certificate and a.chain == b.chain and \
        a.private_key.private_numbers() == b.private_key.private_numbers()


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_a_single_byte_change_is_refused_or_changes_nothing(p12, data):
    # A few bytes outside the integrity check (the PFX version, the NULL parameters of the MAC
    # algorithm) may change without effect; any other change is refused with a KeyStoreError.
    original = KeyStore.from_bytes(p12, PASSWORD)
    position = data.draw(st.integers(0, len(p12) - 1))
    value = data.draw(st.integers(0, 255).filter(lambda v: v != p12[position]))
    damaged = p12[:position] + bytes([value]) + p12[position + 1:]
    try:
        loaded = KeyStore.from_bytes(damaged, PASSWORD)
    except KeyStoreError as exc:
        assert any(word in str(exc) for word in ("truncated", "corrupt", "wrong password",
                                                 "cannot be read", "holds no"))
    else:
        assert same_content(loaded, original)


def test_a_changed_version_number_is_harmless(p12):
    original = KeyStore.from_bytes(p12, PASSWORD)
    assert p12[4:7] == b"\x02\x01\x03"  # version INTEGER 3
    changed = KeyStore.from_bytes(p12[:6] + b"\x02" + p12[7:], PASSWORD)
    assert same_content(changed, original)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=600))
def test_arbitrary_bytes_never_load_as_a_keystore(blob):
    assert classify_pfx(blob) in (TRUNCATED, CORRUPT, WELL_FORMED)
    with pytest.raises(KeyStoreError):
        KeyStore.from_bytes(blob, PASSWORD)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=600))
def test_arbitrary_bytes_are_a_malformed_crl(blob):
    with pytest.raises(CRLError) as info:
        RevocationList.from_bytes(blob)
    assert info.value.reason == "malformed"


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=400))
def test_arbitrary_pem_looking_bundles_are_a_truststore_error(blob):
    with pytest.raises(TrustStoreError):
        TrustStore.from_pem(b"-----BEGIN CERTIFICATE-----\n" + blob
                            + b"\n-----END CERTIFICATE-----\n")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_any_text_is_a_name_or_a_ca_error(text):
    try:
        general_name(text)
    except CAError:
        pass


def test_non_bytes_are_refused_typed():
    with pytest.raises(KeyStoreError):
        KeyStore.from_bytes("text", PASSWORD)
    with pytest.raises(CRLError):
        RevocationList.from_bytes(12)
    with pytest.raises(TrustStoreError):
        TrustStore(["not a certificate"])


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_a_changed_crl_byte_is_refused_unless_the_signed_part_is_intact(root, root_crl, data):
    crl = root_crl
    der = crl.to_der()
    position = data.draw(st.integers(0, len(der) - 1))
    value = data.draw(st.integers(0, 255).filter(lambda v: v != der[position]))
    damaged = der[:position] + bytes([value]) + der[position + 1:]
    try:
        changed = RevocationList.from_bytes(damaged)
        changed.check(root.certificate)
    except CRLError:
        return
    assert changed.crl.tbs_certlist_bytes == crl.crl.tbs_certlist_bytes


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_a_changed_certificate_byte_gives_a_truststore_error_or_a_usable_store(
        root, root_crl, data):
    import warnings

    from cryptography.hazmat.primitives.serialization import Encoding

    der = root.certificate.public_bytes(Encoding.DER)
    position = data.draw(st.integers(0, len(der) - 1))
    value = data.draw(st.integers(0, 255).filter(lambda v: v != der[position]))
    damaged = der[:position] + bytes([value]) + der[position + 1:]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # cryptography warns about a non-positive serial
        try:
            store = TrustStore.from_pem(
                b"-----BEGIN CERTIFICATE-----\n" + base64.encodebytes(damaged)
                + b"-----END CERTIFICATE-----\n")
        except TrustStoreError:
            return
        [certificate] = store.certificates
        assert store.find_by_subject(certificate.subject) == [certificate]
        try:
            root_crl.check(certificate)
        except CRLError:
            pass
