"""The public-key infrastructure: certificate authorities, trust stores, key stores, CRLs.

``CertificateAuthority`` makes roots, intermediates and leaf certificates in memory;
``CADirectory`` keeps a CA on disk; ``TrustStore`` holds trust anchors; ``KeyStore`` is a
password-protected PKCS#12 key and chain; ``RevocationList`` reads and checks CRLs.
"""

from __future__ import annotations

from .ca import CertificateAuthority, IssuedCertificate
from .cadir import CADirectory, CARecord
from .crl import RevocationList, RevokedEntry
from .keys import KEY_TYPES, generate_private_key, key_type_of
from .keystore import KeyStore
from .truststore import TrustStore

__all__ = [
    "KEY_TYPES",
    "CADirectory",
    "CARecord",
    "CertificateAuthority",
    "IssuedCertificate",
    "KeyStore",
    "RevocationList",
    "RevokedEntry",
    "TrustStore",
    "generate_private_key",
    "key_type_of",
]
