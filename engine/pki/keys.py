"""Private keys: the key types the PKI makes and the signature hash each one signs with.

RSA signs certificates and CRLs with SHA-256 and PKCS#1 v1.5, ECDSA with SHA-256 on P-256 and
SHA-384 on P-384, and Ed25519 with no separate hash (RFC 8410).
"""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from ..errors import CAError

KEY_TYPES = ("p256", "p384", "ed25519", "rsa2048", "rsa3072", "rsa4096")
DEFAULT_KEY_TYPE = "p256"

_RSA_BITS = {"rsa2048": 2048, "rsa3072": 3072, "rsa4096": 4096}
_CURVES = {"p256": ec.SECP256R1, "p384": ec.SECP384R1}


def generate_private_key(key_type: str = DEFAULT_KEY_TYPE):
    """A new private key of ``key_type`` (one of :data:`KEY_TYPES`); CAError for another name."""
    if key_type in _CURVES:
        return ec.generate_private_key(_CURVES[key_type]())
    if key_type in _RSA_BITS:
        return rsa.generate_private_key(public_exponent=65537, key_size=_RSA_BITS[key_type])
    if key_type == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    raise CAError("unknown key type %r; expected one of %s" % (key_type, ", ".join(KEY_TYPES)))


def key_type_of(key) -> str:
    """The key type name of a private or public key; ValueError for one the PKI does not make."""
    if isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)):
        for name, curve in _CURVES.items():
            if isinstance(key.curve, curve):
                return name
        raise ValueError("unsupported elliptic curve %s" % key.curve.name)
    if isinstance(key, (rsa.RSAPrivateKey, rsa.RSAPublicKey)):
        name = "rsa%d" % key.key_size
        if name not in _RSA_BITS:
            raise ValueError("unsupported RSA key size %d" % key.key_size)
        return name
    if isinstance(key, (ed25519.Ed25519PrivateKey, ed25519.Ed25519PublicKey)):
        return "ed25519"
    raise ValueError("unsupported key type %s" % type(key).__name__)


def signature_hash(key):
    """The hash a CA with private ``key`` signs certificates and CRLs with (None for Ed25519)."""
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return hashes.SHA384() if isinstance(key.curve, ec.SECP384R1) else hashes.SHA256()
    if isinstance(key, rsa.RSAPrivateKey):
        return hashes.SHA256()
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return None
    raise ValueError("unsupported signing key %s" % type(key).__name__)


def is_rsa(key) -> bool:
    return isinstance(key, (rsa.RSAPrivateKey, rsa.RSAPublicKey))


def same_public_key(a, b) -> bool:
    """Whether two public keys are the same key (compared by their SubjectPublicKeyInfo)."""
    form = serialization.PublicFormat.SubjectPublicKeyInfo
    try:
        return a.public_bytes(serialization.Encoding.DER, form) == b.public_bytes(
            serialization.Encoding.DER, form)
    except (ValueError, TypeError, AttributeError):
        return False
