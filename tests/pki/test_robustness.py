"""Damaged input gives a typed error from engine.errors, never another exception."""

from __future__ import annotations

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


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_any_single_byte_change_is_refused_with_a_keystore_error(p12, data):
    position = data.draw(st.integers(0, len(p12) - 1))
    value = data.draw(st.integers(0, 255).filter(lambda v: v != p12[position]))
    damaged = p12[:position] + bytes([value]) + p12[position + 1:]
    with pytest.raises(KeyStoreError, match="truncated|corrupt|wrong password|cannot be read"):
        KeyStore.from_bytes(damaged, PASSWORD)


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
