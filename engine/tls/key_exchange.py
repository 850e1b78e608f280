"""Key exchange for the named groups (RFC 8446 sections 4.2.8.1, 4.2.8.2, 7.4).

x25519 (RFC 7748), secp256r1 and secp384r1 (uncompressed X9.62 points), and the hybrid
X25519MLKEM768 (draft-ietf-tls-ecdhe-mlkem): the client share is the ML-KEM-768 encapsulation
key (1184 bytes) followed by an X25519 public key (32); the server share is the ML-KEM
ciphertext (1088) followed by an X25519 public key; the shared secret is the ML-KEM shared
secret followed by the X25519 one. A peer share of the wrong length or an invalid point is
illegal_parameter, as is an all-zero X25519 result (RFC 8446 section 7.4.2).
"""

from __future__ import annotations

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, mlkem, x25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ..errors import IllegalParameterError

_MLKEM_EK = 1184
_MLKEM_CT = 1088
_X25519 = 32

_CURVES = {"secp256r1": (ec.SECP256R1(), 65), "secp384r1": (ec.SECP384R1(), 97)}


def _x25519_public(data: bytes) -> x25519.X25519PublicKey:
    if len(data) != _X25519:
        raise IllegalParameterError("x25519 key share of %d bytes" % len(data))
    return x25519.X25519PublicKey.from_public_bytes(data)


def _x25519_exchange(private: x25519.X25519PrivateKey, peer: bytes) -> bytes:
    try:
        return private.exchange(_x25519_public(peer))
    except ValueError:  # an all-zero shared secret (small-order point)
        raise IllegalParameterError("x25519 key share gives an all-zero secret") from None


def _ec_public(group: str, data: bytes) -> ec.EllipticCurvePublicKey:
    curve, size = _CURVES[group]
    if len(data) != size or data[0] != 4:
        raise IllegalParameterError("%s key share is not an uncompressed point" % group)
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(curve, data)
    except ValueError:
        raise IllegalParameterError("%s key share is not a point on the curve" % group) from None


class KeyShare:
    """Our ephemeral key for one group; ``public`` is the key_exchange we send."""

    __slots__ = ("group", "public", "_private", "_kem")

    def __init__(self, group: str):
        self.group = group
        self._kem: mlkem.MLKEM768PrivateKey | None = None
        self._private: x25519.X25519PrivateKey | ec.EllipticCurvePrivateKey
        if group == "x25519":
            self._private = x25519.X25519PrivateKey.generate()
            self.public = self._private.public_key().public_bytes_raw()
        elif group in _CURVES:
            self._private = ec.generate_private_key(_CURVES[group][0])
            self.public = self._private.public_key().public_bytes(
                Encoding.X962, PublicFormat.UncompressedPoint
            )
        elif group == "X25519MLKEM768":
            self._kem = mlkem.MLKEM768PrivateKey.generate()
            self._private = x25519.X25519PrivateKey.generate()
            self.public = (
                self._kem.public_key().public_bytes_raw()
                + self._private.public_key().public_bytes_raw()
            )
        else:
            raise ValueError("unknown group %r" % group)

    def exchange(self, peer: bytes) -> bytes:
        """The client's side: the shared secret from the server's key share."""
        group = self.group
        private = self._private
        if group == "x25519":
            assert isinstance(private, x25519.X25519PrivateKey)  # made so for the group
            return _x25519_exchange(private, peer)
        if group == "X25519MLKEM768":
            if len(peer) != _MLKEM_CT + _X25519:
                raise IllegalParameterError("X25519MLKEM768 server share of %d bytes" % len(peer))
            assert self._kem is not None and isinstance(private, x25519.X25519PrivateKey)
            try:
                kem_secret = self._kem.decapsulate(peer[:_MLKEM_CT])
            except ValueError:
                raise IllegalParameterError("ML-KEM ciphertext rejected") from None
            return kem_secret + _x25519_exchange(private, peer[_MLKEM_CT:])
        public = _ec_public(group, peer)
        assert isinstance(private, ec.EllipticCurvePrivateKey)  # made so for the group
        return private.exchange(ec.ECDH(), public)


def server_exchange(group: str, client_share: bytes) -> tuple[bytes, bytes]:
    """The server's side: ``(server key_exchange, shared secret)`` for a client share."""
    if group == "X25519MLKEM768":
        if len(client_share) != _MLKEM_EK + _X25519:
            raise IllegalParameterError(
                "X25519MLKEM768 client share of %d bytes" % len(client_share)
            )
        try:
            encapsulation_key = mlkem.MLKEM768PublicKey.from_public_bytes(client_share[:_MLKEM_EK])
            kem_secret, ciphertext = encapsulation_key.encapsulate()
        except (ValueError, UnsupportedAlgorithm):
            raise IllegalParameterError("ML-KEM encapsulation key rejected") from None
        ours = KeyShare("x25519")
        secret = kem_secret + ours.exchange(client_share[_MLKEM_EK:])
        return ciphertext + ours.public, secret
    ours = KeyShare(group)
    return ours.public, ours.exchange(client_share)

