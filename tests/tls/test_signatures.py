"""CertificateVerify signatures (RFC 8446 section 4.4.3)."""

from __future__ import annotations

import pytest

from engine.errors import DecryptError, IllegalParameterError
from engine.pki import generate_private_key
from engine.tls import signatures

KEYS = {
    "ecdsa_secp256r1_sha256": "p256", "ecdsa_secp384r1_sha384": "p384", "ed25519": "ed25519",
    "rsa_pss_rsae_sha256": "rsa2048", "rsa_pss_rsae_sha384": "rsa2048",
    "rsa_pss_rsae_sha512": "rsa2048",
}


@pytest.fixture(scope="module")
def keys():
    return {key_type: generate_private_key(key_type) for key_type in set(KEYS.values())}


def test_signed_content_layout():
    content = signatures.signed_content(signatures.SERVER_CONTEXT, b"\xab" * 32)
    assert content[:64] == b" " * 64
    assert content[64:-33] == b"TLS 1.3, server CertificateVerify"
    assert content[-33:] == b"\x00" + b"\xab" * 32


@pytest.mark.parametrize("scheme", sorted(KEYS))
def test_sign_and_verify(keys, scheme):
    key = keys[KEYS[scheme]]
    assert scheme in signatures.schemes_for_key(key)
    content = signatures.signed_content(signatures.CLIENT_CONTEXT, bytes(48))
    signature = signatures.sign(key, scheme, content)
    signatures.verify(key.public_key(), scheme, content, signature)
    with pytest.raises(DecryptError):
        signatures.verify(key.public_key(), scheme, content + b"x", signature)
    with pytest.raises(DecryptError):  # the other role's context does not verify
        other = signatures.signed_content(signatures.SERVER_CONTEXT, bytes(48))
        signatures.verify(key.public_key(), scheme, other, signature)


def test_schemes_per_key_type(keys):
    assert signatures.schemes_for_key(keys["p256"]) == ("ecdsa_secp256r1_sha256",)
    assert signatures.schemes_for_key(keys["p384"]) == ("ecdsa_secp384r1_sha384",)
    assert signatures.schemes_for_key(keys["ed25519"]) == ("ed25519",)
    assert signatures.schemes_for_key(keys["rsa2048"]) == (
        "rsa_pss_rsae_sha256", "rsa_pss_rsae_sha384", "rsa_pss_rsae_sha512")


@pytest.mark.parametrize("key_type,scheme", [
    ("p256", "ecdsa_secp384r1_sha384"), ("p384", "ecdsa_secp256r1_sha256"),
    ("rsa2048", "ed25519"), ("ed25519", "rsa_pss_rsae_sha256"),
])
def test_scheme_that_does_not_fit_the_key_is_illegal_parameter(keys, key_type, scheme):
    with pytest.raises(IllegalParameterError):
        signatures.verify(keys[key_type].public_key(), scheme, b"content", b"signature")
