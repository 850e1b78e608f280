"""Reading certificates from files and blobs, in full, once.

pyca/cryptography parses a certificate lazily: loading succeeds while a version other than
v1-v3 raises InvalidVersion, an extension present twice raises DuplicateExtension when the
extensions are first read, and a key of an unknown type raises UnsupportedAlgorithm when the
key is first asked for; none of these is a ValueError. :func:`read_certificates` loads PEM
(one or several certificates) or DER and touches each of those parts at once, so that every
such certificate is refused here as one :class:`~engine.errors.CertificateError` naming the
source, never later as a traceback from whatever reads it first.
"""

from __future__ import annotations

import warnings

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.utils import CryptographyDeprecationWarning

from ..errors import CertificateError

_UNREADABLE = (ValueError, TypeError, x509.InvalidVersion, x509.DuplicateExtension)


def read_certificates(data: bytes, source: str = "the data") -> list[x509.Certificate]:
    """Every certificate of ``data`` (PEM, one or several, or one DER), each read in full."""
    if b"-----BEGIN" in data and b"-----BEGIN CERTIFICATE-----" not in data:
        label = data.split(b"-----BEGIN", 1)[1].split(b"-----", 1)[0]
        raise CertificateError("%s holds no certificate (it holds a %s)"
                               % (source, label.strip().decode("ascii", "replace")[:40]))
    try:
        with warnings.catch_warnings():  # a non-positive serial warns; it is read as it is
            warnings.simplefilter("ignore", CryptographyDeprecationWarning)
            if b"-----BEGIN" in data:
                certificates = x509.load_pem_x509_certificates(data)
            else:
                certificates = [x509.load_der_x509_certificate(data)]
    except _UNREADABLE as exc:
        raise CertificateError("%s holds no readable certificate (%s)" % (source, exc)) from None
    for position, certificate in enumerate(certificates):
        check_certificate(certificate, "%s, certificate %d" % (source, position + 1)
                          if len(certificates) > 1 else source)
    return certificates


def check_certificate(certificate: x509.Certificate, source: str = "the certificate") -> None:
    """Read the parts of ``certificate`` that cryptography parses on first use (quietly: an
    extension holding a non-positive serial, as some CAs of distributions' bundles have in their
    authorityKeyIdentifier, makes cryptography warn when the extensions are first read)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CryptographyDeprecationWarning)
            certificate.extensions  # noqa: B018
        certificate.subject.rfc4514_string()
        certificate.issuer.rfc4514_string()
        certificate.public_key()
    except UnsupportedAlgorithm as exc:
        raise CertificateError("%s has a key of a type that is not supported (%s)"
                               % (source, exc)) from None
    except _UNREADABLE as exc:
        raise CertificateError("%s cannot be read in full (%s)" % (source, exc)) from None
