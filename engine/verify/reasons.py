"""The native batch's result codes as verdict reasons: OpenSSL's X509_V_ERR_* values and the
project's own ENGINE_VERIFY_* codes, whose numbers are read from the extension."""

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

# The project's codes by their names in csrc/engine_verify.h (ENGINE_VERIFY_<name>), and what
# they mean; the numbers are the extension's own, read by NativeCodes.
PROJECT = {
    "REVOKED": ("revoked", None),
    "CRL_MISSING": ("crl_invalid", "no CRL from the certificate's issuer was given"),
    "CRL_BAD_SIGNATURE": ("crl_invalid",
                          "the CRL's signature does not verify under its issuer's key"),
    "CRL_NO_CRL_SIGN": ("crl_invalid",
                        "the CRL issuer's keyUsage lacks cRLSign (RFC 5280 4.2.1.3)"),
    "CRL_EXPIRED": ("crl_invalid", "the CRL has expired (past its nextUpdate)"),
    "CRL_NOT_YET_VALID": ("crl_invalid", "the CRL is not yet valid (before its thisUpdate)"),
    "CRL_NO_NUMBER": ("crl_invalid", "the CRL has no CRLNumber extension (RFC 5280 5.2.3)"),
    "CRL_NUMBER_CRITICAL": ("crl_invalid", "the CRL's CRLNumber extension is marked critical "
                                           "(RFC 5280 5.2.3)"),
    "CRL_CRITICAL_EXTENSION": ("crl_invalid", "the CRL has an unsupported critical extension"),
    "CRL_NO_NEXT_UPDATE": ("crl_invalid", "the CRL has no nextUpdate"),
    "CRL_MALFORMED": ("crl_invalid", "the CRL has an unreadable time field"),
    "MALFORMED": ("malformed", "the certificate cannot be read"),
    "NO_SERVER_NAME": ("name_mismatch", "the server certificate has no DNS or IP subjectAltName"),
    "BAD_NAME": ("name_mismatch", "the name asked for is not a usable DNS name or IP address"),
    "EMPTY_CHAIN": ("malformed", "an empty chain"),
    "UNUSABLE_NAME": ("name_mismatch",
                      "the name asked for is not a usable DNS name or IP address"),
    "INTERNAL": ("unsupported", "the native verifier ran out of memory"),
    "WEAK_KEY": ("unsupported",
                 "an RSA key is shorter than 2048 bits or not a whole number of bytes"),
    "FORBIDDEN_KEY": ("unsupported", "the key type or curve is not allowed (CABF BR 6.1.5)"),
    "BAD_SERIAL": ("malformed", "the serial number is not a positive integer of at most 20 "
                                "octets (RFC 5280 4.1.2.2)"),
    "EKU_MISSING": ("bad_usage", "the leaf has no extendedKeyUsage (CABF BR 7.1.2.7.10)"),
    "EKU_CRITICAL": ("bad_usage", "the leaf's extendedKeyUsage is marked critical"),
    "EKU_ANY": ("bad_usage", "the leaf's extendedKeyUsage allows any purpose"),
    "CN_NOT_IN_SAN": ("name_mismatch", "a subject commonName spells one of the "
                                       "subjectAltNames differently (CABF BR 7.1.4.3)"),
    "ANCHOR_AKI": ("malformed", "the root's authorityKeyIdentifier is not its own key "
                                "identifier (CABF BR 7.1.2.1.3)"),
    "ANCHOR_EKU": ("bad_usage", "the root carries an extendedKeyUsage (CABF BR 7.1.2.1.2)"),
    "LEAF_IS_CA": ("bad_usage", "the leaf is a CA certificate (basicConstraints cA)"),
    "LEAF_NAME_CONSTRAINTS": ("malformed",
                              "the leaf carries nameConstraints, which only CAs may"),
    "SAN_CRITICAL": ("malformed",
                     "the leaf's subjectAltName is critical while its subject is not empty"),
    "BAD_DNS_NAME": ("malformed", "a DNS subjectAltName is not a valid domain name"),
    "BAD_EXTENSION": ("malformed", "an extension cannot be decoded"),
    "EMPTY_NAME_CONSTRAINTS": ("malformed",
                               "nameConstraints with neither permitted nor excluded subtrees"),
    "BAD_ADDRESS": ("malformed", "an iPAddress subjectAltName is not an address of 4 or 16 "
                                 "octets, or the subjectAltName cannot be decoded "
                                 "(RFC 5280 4.2.1.6)"),
    "INTERCHANGEABLE": ("untrusted", "more than 8 presented certificates share one subject and "
                                     "key; the chain is refused rather than searched"),
}

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


class NativeCodes:
    """The codes of one extension's results, read from its enums (csrc/engine_verify.h)."""

    def __init__(self, ffi, lib):
        self._ffi, self._lib = ffi, lib
        self.project = {getattr(lib, "ENGINE_VERIFY_" + name): entry
                        for name, entry in PROJECT.items()}
        self.unusable_name = lib.ENGINE_VERIFY_UNUSABLE_NAME
        self.path_unknown = lib.ENGINE_VERIFY_PATH_UNKNOWN
        # The verdict reason of every code the batch may give (0: the chain is valid).
        self.reason_by_code = {0: None, **OPENSSL_REASONS,
                               **{code: reason for code, (reason, _) in self.project.items()}}

    def explain(self, code: int, depth: int, crl_reason: int, revoked_at: int):
        """(reason, detail) for a result code."""
        where = " (certificate at depth %d)" % depth if depth >= 0 else ""
        if code in self.project:
            reason, text = self.project[code]
            if text is None:  # revoked: when, and why
                when = datetime.datetime.fromtimestamp(revoked_at, datetime.timezone.utc) \
                    if revoked_at else None
                text = revoked_detail(None, when, CRL_REASONS.get(crl_reason))
            return reason, text + where
        text = self._ffi.string(self._lib.engine_verify_error_string(code)).decode(
            "utf-8", "replace")
        reason = OPENSSL_REASONS.get(code, "unsupported")
        return reason, "%s%s (OpenSSL error %d)" % (text, where, code)
