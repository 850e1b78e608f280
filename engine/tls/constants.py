"""Code points and fixed values of TLS 1.3 (RFC 8446 sections 4 and B.3).

Everything the wire carries as a number is named here once, with the protocol's own names;
the rest of the package speaks of cipher suites, groups and signature schemes by these names.
"""

from __future__ import annotations

import enum
import hashlib

from ..records._suites import MAX_FRAGMENT, SUITE_TABLE, Suite

TLS13 = 0x0304
LEGACY_VERSION = 0x0303

MAX_PLAINTEXT = MAX_FRAGMENT  # RFC 8446 section 5.1
MAX_HANDSHAKE_MESSAGE = (1 << 16) + 4096  # our bound on one handshake message body
MAX_TICKET_LIFETIME = 604800  # seconds: seven days (RFC 8446 section 4.6.1)


class ContentType(enum.IntEnum):
    """TLSPlaintext.type (RFC 8446 section 5.1)."""

    change_cipher_spec = 20
    alert = 21
    handshake = 22
    application_data = 23


class HandshakeType(enum.IntEnum):
    """Handshake.msg_type (RFC 8446 section 4)."""

    client_hello = 1
    server_hello = 2
    new_session_ticket = 4
    end_of_early_data = 5
    encrypted_extensions = 8
    certificate = 11
    certificate_request = 13
    certificate_verify = 15
    finished = 20
    key_update = 24
    message_hash = 254


class ExtensionType(enum.IntEnum):
    """Extension code points used by this engine (RFC 8446 section 4.2)."""

    server_name = 0
    supported_groups = 10
    signature_algorithms = 13
    application_layer_protocol_negotiation = 16
    pre_shared_key = 41
    early_data = 42
    supported_versions = 43
    cookie = 44
    psk_key_exchange_modes = 45
    certificate_authorities = 47
    signature_algorithms_cert = 50
    key_share = 51


class PskKeyExchangeMode(enum.IntEnum):
    """PskKeyExchangeMode (RFC 8446 section 4.2.9)."""

    psk_ke = 0
    psk_dhe_ke = 1


PSK_MODES = tuple(mode.name for mode in PskKeyExchangeMode)


class KeyUpdateRequest(enum.IntEnum):
    """KeyUpdate.request_update (RFC 8446 section 4.6.3)."""

    update_not_requested = 0
    update_requested = 1


# Cipher suites (appendix B.4): the one table of engine.records, which the record layer and
# the key schedule both read.
CipherSuite = Suite
SUITE_BY_NAME = {suite.name: suite for suite in SUITE_TABLE}
SUITE_BY_CODE = {suite.code: suite for suite in SUITE_TABLE}
CIPHER_SUITES = tuple(suite.name for suite in SUITE_TABLE)

# Named groups (RFC 8446 section 4.2.7; X25519MLKEM768 from draft-ietf-tls-ecdhe-mlkem).
GROUP_CODES = {
    "x25519": 0x001D,
    "secp256r1": 0x0017,
    "secp384r1": 0x0018,
    "X25519MLKEM768": 0x11EC,
}
GROUP_NAMES = {code: name for name, code in GROUP_CODES.items()}
GROUPS = ("x25519", "secp256r1", "secp384r1", "X25519MLKEM768")

# Signature schemes (RFC 8446 section 4.2.3), in our order of preference.
SIGNATURE_SCHEME_CODES = {
    "ecdsa_secp256r1_sha256": 0x0403,
    "ecdsa_secp384r1_sha384": 0x0503,
    "ed25519": 0x0807,
    "rsa_pss_rsae_sha256": 0x0804,
    "rsa_pss_rsae_sha384": 0x0805,
    "rsa_pss_rsae_sha512": 0x0806,
}
SIGNATURE_SCHEME_NAMES = {code: name for name, code in SIGNATURE_SCHEME_CODES.items()}
SIGNATURE_SCHEMES = tuple(SIGNATURE_SCHEME_CODES)

# Schemes we accept in certificate signatures (signature_algorithms_cert, section 4.2.3): the
# CertificateVerify schemes plus the PKCS#1 v1.5 and PSS-pss ones that CAs still use.
CERTIFICATE_SIGNATURE_CODES = (
    0x0403, 0x0503, 0x0603, 0x0807, 0x0808, 0x0804, 0x0805, 0x0806,
    0x0809, 0x080A, 0x080B, 0x0401, 0x0501, 0x0601,
)

# ServerHello.random of a HelloRetryRequest: SHA-256("HelloRetryRequest") (section 4.1.3).
HELLO_RETRY_REQUEST_RANDOM = hashlib.sha256(b"HelloRetryRequest").digest()

# Downgrade sentinels in the last 8 bytes of ServerHello.random (section 4.1.3).
DOWNGRADE_TLS12 = bytes.fromhex("444f574e47524401")
DOWNGRADE_TLS11 = bytes.fromhex("444f574e47524400")


def is_grease(value: int) -> bool:
    """GREASE values (RFC 8701): 0x?A?A with both bytes equal."""
    return (value & 0x0F0F) == 0x0A0A and (value >> 8) == (value & 0xFF)
