"""Signature schemes of CertificateVerify (RFC 8446 sections 4.2.3 and 4.4.3).

The signed content is 64 spaces, a context string naming the signer's role, a zero byte and
the transcript hash. A signature that does not verify is decrypt_error; a scheme that does not
fit the peer's key is illegal_parameter.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from ..errors import DecryptError, IllegalParameterError

SERVER_CONTEXT = b"TLS 1.3, server CertificateVerify"
CLIENT_CONTEXT = b"TLS 1.3, client CertificateVerify"

_HASHES = {"sha256": hashes.SHA256(), "sha384": hashes.SHA384(), "sha512": hashes.SHA512()}
_ECDSA = {name: ec.ECDSA(algorithm) for name, algorithm in _HASHES.items()}  # immutable values

# name -> (key kind, curve name or None, hash name or None)
_SCHEMES = {
    "ecdsa_secp256r1_sha256": ("ec", "secp256r1", "sha256"),
    "ecdsa_secp384r1_sha384": ("ec", "secp384r1", "sha384"),
    "ed25519": ("ed25519", None, None),
    "rsa_pss_rsae_sha256": ("rsa", None, "sha256"),
    "rsa_pss_rsae_sha384": ("rsa", None, "sha384"),
    "rsa_pss_rsae_sha512": ("rsa", None, "sha512"),
}


def signed_content(context: bytes, transcript_hash: bytes) -> bytes:
    """The bytes a CertificateVerify signs (section 4.4.3)."""
    return b" " * 64 + context + b"\x00" + transcript_hash


_KINDS: dict = {}  # key class -> its kind, for the classes seen (isinstance on ABCs is slow)


def _key_kind(key) -> tuple[str, str | None]:
    kind = _KINDS.get(type(key))
    if kind is None:
        kind = _KINDS[type(key)] = _class_kind(key)
    return kind, key.curve.name if kind == "ec" else None


def _class_kind(key) -> str:
    if isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)):
        return "ec"
    if isinstance(key, (rsa.RSAPrivateKey, rsa.RSAPublicKey)):
        return "rsa"
    if isinstance(key, (ed25519.Ed25519PrivateKey, ed25519.Ed25519PublicKey)):
        return "ed25519"
    return "unsupported"


def schemes_for_key(key) -> tuple[str, ...]:
    """The schemes (our order of preference) that a private or public key can sign or verify."""
    kind, curve = _key_kind(key)
    return tuple(
        name for name, (k, c, _) in _SCHEMES.items() if k == kind and (c is None or c == curve)
    )


def _pss(hash_name: str) -> padding.PSS:
    algorithm = _HASHES[hash_name]
    return padding.PSS(mgf=padding.MGF1(algorithm), salt_length=algorithm.digest_size)


def sign(private_key, scheme: str, content: bytes) -> bytes:
    kind, _, hash_name = _SCHEMES[scheme]
    if kind == "ec":
        assert hash_name is not None  # every ec and rsa scheme names its hash
        return private_key.sign(content, _ECDSA[hash_name])
    if kind == "rsa":
        assert hash_name is not None
        return private_key.sign(content, _pss(hash_name), _HASHES[hash_name])
    return private_key.sign(content)


def verify(public_key, scheme: str, content: bytes, signature: bytes) -> None:
    """Check a CertificateVerify signature; raise the alert error on failure."""
    if scheme not in schemes_for_key(public_key):
        raise IllegalParameterError("signature scheme %s does not fit the certificate key" % scheme)
    kind, _, hash_name = _SCHEMES[scheme]
    try:
        if kind == "ec":
            assert hash_name is not None  # every ec and rsa scheme names its hash
            public_key.verify(signature, content, _ECDSA[hash_name])
        elif kind == "rsa":
            assert hash_name is not None
            public_key.verify(signature, content, _pss(hash_name), _HASHES[hash_name])
        else:
            public_key.verify(signature, content)
    except (InvalidSignature, ValueError):
        raise DecryptError("CertificateVerify signature does not verify") from None
