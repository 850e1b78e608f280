"""A TrustStore: the CA certificates a verifier starts chains from (trust anchors, RFC 5280 6.1.1)."""

from __future__ import annotations

import os
from typing import Iterable

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from ..errors import CertificateError, TrustStoreError
from .certfile import read_certificates

_SUFFIXES = (".pem", ".crt", ".cer")


def is_ca(certificate: x509.Certificate) -> bool:
    """Whether BasicConstraints says CA:TRUE."""
    try:
        return bool(certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except Exception:  # absent, or a damaged extension
        return False


def _self_issued(certificate: x509.Certificate) -> bool:
    """Whether the certificate names itself as its issuer (a self-signed one does)."""
    try:
        return certificate.issuer == certificate.subject
    except ValueError:
        return False


def key_id(certificate: x509.Certificate) -> bytes:
    """The SubjectKeyIdentifier, or the RFC 5280 method 1 value when the extension is absent."""
    try:
        return certificate.extensions.get_extension_for_class(
            x509.SubjectKeyIdentifier).value.digest
    except (x509.ExtensionNotFound, ValueError):
        return x509.SubjectKeyIdentifier.from_public_key(certificate.public_key()).digest


def _parse_certificates(data: bytes, source: str) -> list:
    try:
        return read_certificates(data, source)
    except CertificateError as exc:
        raise TrustStoreError(str(exc)) from None


class TrustStore:
    """A set of CA certificates, searchable by subject name and by key identifier."""

    def __init__(self, certificates: Iterable[x509.Certificate] = ()):
        self._certificates: list = []
        self._by_subject: dict = {}
        self._by_key_id: dict = {}
        self._der: set = set()
        if certificates is None or isinstance(certificates, (str, bytes, bytearray, memoryview)):
            raise TrustStoreError("a TrustStore takes an iterable of x509.Certificate, not %s "
                                  "(use from_pem for PEM data)" % type(certificates).__name__)
        for certificate in certificates:
            self.add(certificate)

    @classmethod
    def from_pem(cls, source: bytes | str | os.PathLike):
        """A store from a PEM bundle: bytes (or a str holding PEM) are data, anything else a path."""
        if isinstance(source, str) and "-----BEGIN" in source:
            source = source.encode("ascii", "replace")
        if isinstance(source, (bytes, bytearray, memoryview)):
            data, name = bytes(source), "the PEM data"
        else:
            try:
                name = os.fspath(source)
            except TypeError:
                raise TrustStoreError("a PEM bundle is bytes, a str or a path, not %s"
                                      % type(source).__name__) from None
            try:
                with open(name, "rb") as fh:
                    data = fh.read()
            except OSError as exc:
                raise TrustStoreError("cannot read %s: %s" % (name, exc.strerror)) from None
        if b"-----BEGIN" not in data:
            raise TrustStoreError("%s is not a PEM certificate bundle" % name)
        return cls(_parse_certificates(data, name))

    @classmethod
    def from_directory(cls, path: str | os.PathLike):
        """A store of every certificate in the *.pem, *.crt and *.cer files of a directory."""
        path = os.fspath(path)
        try:
            names = sorted(os.listdir(path))
        except OSError as exc:
            raise TrustStoreError("cannot list %s: %s" % (path, exc.strerror)) from None
        store = cls()
        for name in names:
            full = os.path.join(path, name)
            if not name.lower().endswith(_SUFFIXES) or not os.path.isfile(full):
                continue
            try:
                with open(full, "rb") as fh:
                    data = fh.read()
            except OSError as exc:
                raise TrustStoreError("cannot read %s: %s" % (full, exc.strerror)) from None
            for certificate in _parse_certificates(data, full):
                try:
                    store.add(certificate)
                except TrustStoreError as exc:
                    raise TrustStoreError("%s: %s" % (full, exc)) from None
        return store

    def add(self, certificate: x509.Certificate) -> None:
        """Trust ``certificate``: a CA (BasicConstraints CA:TRUE), or a self-signed certificate
        without CA:TRUE, which is pinned (RFC 5280 6.1.1 (d): an anchor is a name and a key; a
        pinned certificate is the whole path to itself and issues nothing). A CA:FALSE
        certificate that names another issuer is refused: it is a leaf of some CA, and trusting
        it is most likely a mistake."""
        if not isinstance(certificate, x509.Certificate):
            raise TrustStoreError("expected an x509.Certificate, not %s" % type(certificate).__name__)
        try:  # parse the fields used below now, so a damaged certificate fails here
            subject = certificate.subject
            name = subject.rfc4514_string()
            identifier = key_id(certificate)
        except Exception:
            raise TrustStoreError("a certificate with a malformed subject or key") from None
        if not is_ca(certificate) and not _self_issued(certificate):
            raise TrustStoreError("%s is not a CA certificate (BasicConstraints CA:TRUE) nor a "
                                  "self-signed certificate to pin" % name)
        der = certificate.public_bytes(Encoding.DER)
        if der in self._der:
            return
        self._der.add(der)
        self._certificates.append(certificate)
        self._by_subject.setdefault(subject, []).append(certificate)
        self._by_key_id.setdefault(identifier, certificate)

    @property
    def certificates(self) -> list:
        return list(self._certificates)

    def find_by_subject(self, subject: x509.Name) -> list:
        """The trusted certificates whose subject is ``subject`` (possibly several keys)."""
        return list(self._by_subject.get(subject, ()))

    def find_by_key_id(self, ski: bytes):
        """The trusted certificate whose subject key identifier is ``ski``, or None."""
        return self._by_key_id.get(bytes(ski))

    def to_pem(self) -> bytes:
        return b"".join(c.public_bytes(Encoding.PEM) for c in self._certificates)

    def __len__(self) -> int:
        return len(self._certificates)

    def __iter__(self):
        return iter(list(self._certificates))

    def __contains__(self, certificate) -> bool:
        if not isinstance(certificate, x509.Certificate):
            return False
        return certificate.public_bytes(Encoding.DER) in self._der

    def __repr__(self) -> str:
        return "<TrustStore of %d CA certificates>" % len(self._certificates)
