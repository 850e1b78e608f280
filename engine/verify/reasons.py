"""OpenSSL's verification error codes, and the project's own, as verdict reasons."""

from __future__ import annotations

import datetime

# X509_V_ERR_* values (openssl/x509_vfy.h, stable across 3.x) by reason.
_OPENSSL = {
    "expired": (10,),
    "not_yet_valid": (9,),
    "untrusted": (2, 18, 19, 20, 21, 27, 28, 55),
    "bad_signature": (4, 7),
    "revoked": (23,),
    "crl_invalid": (3, 5, 8, 11, 12, 15, 16, 33, 35, 36, 44, 54),
    "name_mismatch": (47, 48, 62, 63, 64),
    "bad_usage": (26, 32, 39),
    "path_too_long": (22, 25, 38),
    "invalid_ca": (37, 79, 80, 81, 82, 89, 92),
    "malformed": (6, 13, 14, 24, 41, 42, 83, 84, 85, 86, 87, 88, 90, 91, 93),
    "unsupported": (34, 45, 49, 51, 52, 53, 66, 67, 68, 76, 77, 78, 94),
}
OPENSSL_REASONS = {code: reason for reason, codes in _OPENSSL.items() for code in codes}

# The project's codes (csrc/engine_verify.h) and what they mean.
PROJECT = {
    1001: ("revoked", None),
    1002: ("crl_invalid", "no CRL from the certificate's issuer was given"),
    1003: ("crl_invalid", "the CRL's signature does not verify under its issuer's key"),
    1004: ("crl_invalid", "the CRL issuer's keyUsage lacks cRLSign (RFC 5280 4.2.1.3)"),
    1005: ("crl_invalid", "the CRL has expired (past its nextUpdate)"),
    1006: ("crl_invalid", "the CRL is not yet valid (before its thisUpdate)"),
    1007: ("crl_invalid", "the CRL has no CRLNumber extension (RFC 5280 5.2.3)"),
    1008: ("crl_invalid", "the CRL's CRLNumber extension is marked critical (RFC 5280 5.2.3)"),
    1009: ("crl_invalid", "the CRL has an unsupported critical extension"),
    1010: ("crl_invalid", "the CRL has no nextUpdate"),
    1011: ("crl_invalid", "the CRL has an unreadable time field"),
    1020: ("malformed", "the certificate cannot be read"),
    1021: ("name_mismatch", "the server certificate has no DNS or IP subjectAltName"),
    1022: ("name_mismatch", "the name asked for is not a usable DNS name or IP address"),
    1023: ("malformed", "an empty chain"),
    1024: ("name_mismatch", "the name asked for is not a usable DNS name or IP address"),
    1030: ("unsupported", "the native verifier ran out of memory"),
    1040: ("unsupported", "an RSA key is shorter than 2048 bits or not a whole number of bytes"),
    1041: ("unsupported", "the key type or curve is not allowed (CABF BR 6.1.5)"),
    1042: ("malformed", "the serial number is not a positive integer of at most 20 octets "
                        "(RFC 5280 4.1.2.2)"),
    1043: ("bad_usage", "the leaf has no extendedKeyUsage (CABF BR 7.1.2.7.10)"),
    1044: ("bad_usage", "the leaf's extendedKeyUsage is marked critical"),
    1045: ("bad_usage", "the leaf's extendedKeyUsage allows any purpose"),
    1046: ("name_mismatch", "a subject commonName spells one of the subjectAltNames "
                           "differently (CABF BR 7.1.4.3)"),
    1047: ("malformed", "the root's authorityKeyIdentifier is not its own key identifier "
                       "(CABF BR 7.1.2.1.3)"),
    1048: ("bad_usage", "the root carries an extendedKeyUsage (CABF BR 7.1.2.1.2)"),
    1049: ("bad_usage", "the leaf is a CA certificate (basicConstraints cA)"),
    1050: ("malformed", "the leaf carries nameConstraints, which only CAs may"),
    1051: ("malformed", "the leaf's subjectAltName is critical while its subject is not empty"),
    1052: ("malformed", "a DNS subjectAltName is not a valid domain name"),
    1053: ("malformed", "an extension cannot be decoded"),
    1054: ("malformed", "nameConstraints with neither permitted nor excluded subtrees"),
    1055: ("malformed", "an iPAddress subjectAltName is not an address of 4 or 16 octets, or "
                        "the subjectAltName cannot be decoded (RFC 5280 4.2.1.6)"),
    1056: ("untrusted", "more than 8 presented certificates share one subject and key; the "
                        "chain is refused rather than searched"),
}

UNUSABLE_NAME = 1024

# The verdict reason of every code either side may give (0: the chain is valid).
REASON_BY_CODE = {0: None, **OPENSSL_REASONS, **{code: r for code, (r, _) in PROJECT.items()}}

CRL_REASONS = {
    0: "unspecified", 1: "key_compromise", 2: "ca_compromise", 3: "affiliation_changed",
    4: "superseded", 5: "cessation_of_operation", 6: "certificate_hold",
    8: "remove_from_crl", 9: "privilege_withdrawn", 10: "aa_compromise",
}


def revoked_detail(serial: int | None, when: datetime.datetime | None, reason: str | None) -> str:
    text = "the certificate%s was revoked on %s" % (
        " (serial %#x)" % serial if serial is not None else "",
        when.date().isoformat() if when else "an unknown date",
    )
    if reason is not None:
        text += ", reason: %s" % reason
    return text


def from_native(lib, code: int, depth: int, crl_reason: int, revoked_at: int):
    """(reason, detail) for a native result code."""
    where = " (certificate at depth %d)" % depth if depth >= 0 else ""
    if code in PROJECT:
        reason, text = PROJECT[code]
        if code == 1001:
            when = datetime.datetime.fromtimestamp(revoked_at, datetime.timezone.utc) \
                if revoked_at else None
            text = revoked_detail(None, when, CRL_REASONS.get(crl_reason))
        return reason, text + where
    from .. import _backend

    ffi, _ = _backend.native()
    text = ffi.string(lib.engine_verify_error_string(code)).decode("utf-8", "replace")
    reason = OPENSSL_REASONS.get(code, "unsupported")
    return reason, "%s%s (OpenSSL error %d)" % (text, where, code)
