"""A TrustStore: the CA certificates a verifier starts chains from (trust anchors, RFC 5280 6.1.1)."""

from __future__ import annotations

import dataclasses
import os
import re
from typing import Iterable

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from ..errors import CertificateError, TrustStoreError
from . import system_trust
from .certfile import read_certificates


_SUFFIXES = (".pem", ".crt", ".cer")


def is_path(value) -> bool:
    """Whether ``value`` names a file or directory: an os.PathLike, or a str that is not PEM
    text (engine.verify.inputs reads paths by the same rule)."""
    return isinstance(value, os.PathLike) or (isinstance(value, str) and "-----BEGIN" not in value)


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


_PEM_CERTIFICATE = b"-----BEGIN CERTIFICATE-----"
_PEM_END = b"-----END CERTIFICATE-----"
# c_rehash and update-ca-certificates name a CA file by its subject hash: 3b2c7e4d.0, .1...
_HASHED_NAME = re.compile(r"^[0-9a-f]{8}\.[0-9]+$")


def _parse_certificates(data: bytes, source: str) -> list:
    try:
        return read_certificates(data, source)
    except CertificateError as exc:
        raise TrustStoreError(str(exc)) from None


def _read_file(path: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError as exc:
        raise TrustStoreError("cannot read trust anchors from %s: %s"
                              % (path, exc.strerror or exc)) from None


def _directory_files(path: str) -> list[str]:
    """The CA files of a directory: *.pem, *.crt, *.cer and OpenSSL's hashed names, each file
    once however many names (links) it has."""
    try:
        names = sorted(os.listdir(path))
    except OSError as exc:
        raise TrustStoreError("cannot list %s: %s" % (path, exc.strerror)) from None
    files: dict[str, str] = {}
    for name in names:
        full = os.path.join(path, name)
        if (name.lower().endswith(_SUFFIXES) or _HASHED_NAME.match(name)) and os.path.isfile(full):
            files.setdefault(os.path.realpath(full), full)
    return list(files.values())


@dataclasses.dataclass(frozen=True)
class _Anchor:
    """A trust anchor with what a store files it under, worked out once."""

    certificate: x509.Certificate
    subject: x509.Name
    key_id: bytes
    der: bytes


def _system_anchors(path: str) -> list[_Anchor]:
    """Every usable anchor of a system bundle, or of a system CA directory, one by one: an
    unreadable or odd certificate among hundreds is passed over, as OpenSSL's directory lookup
    does, rather than leave the machine without trust anchors."""
    found = []
    for certificate in _system_certificates(path):
        try:
            if not _acceptable(certificate):
                continue
            found.append(_Anchor(certificate, certificate.subject, key_id(certificate),
                                 certificate.public_bytes(Encoding.DER)))
        except Exception:  # a subject or key that cannot be read after all
            continue
    return found


def _system_certificates(path: str) -> list:
    if os.path.isdir(path):
        found = []
        for name in _directory_files(path):
            try:
                found.extend(_system_certificates(name))
            except TrustStoreError:
                continue
        return found
    data = _read_file(path)
    if _PEM_CERTIFICATE not in data:
        try:
            return read_certificates(data, path)
        except CertificateError:
            return []
    found = []
    for block in data.split(_PEM_CERTIFICATE)[1:]:
        pem = _PEM_CERTIFICATE + block.split(_PEM_END, 1)[0] + _PEM_END + b"\n"
        try:
            found.append(read_certificates(pem, path)[0])
        except CertificateError:
            continue
    return found


def _acceptable(certificate: x509.Certificate) -> bool:
    return is_ca(certificate) or _self_issued(certificate)


class TrustStore:
    """A set of CA certificates, searchable by subject name and by key identifier.

    ``TrustStore(certificates)`` takes x509.Certificate objects, or paths (str or os.PathLike)
    of PEM bundles, DER certificates or directories of them, or one such path:
    ``TrustStore("ca.pem")``, ``TrustStore("/etc/ssl/certs")``. :meth:`system` is the operating
    system's store. ``source`` names the file or directory a store was read from, if any.
    """

    def __init__(self, certificates: Iterable[x509.Certificate] | str | os.PathLike[str] = ()):
        self._certificates: list = []
        self._by_subject: dict = {}
        self._by_key_id: dict = {}
        self._der: set = set()
        self.source: str | None = None
        if certificates is None or isinstance(certificates, (bytes, bytearray, memoryview)):
            raise TrustStoreError("a TrustStore takes certificates or the path of a PEM bundle "
                                  "or a directory, not %s (use from_pem for PEM data)"
                                  % type(certificates).__name__)
        if isinstance(certificates, (str, os.PathLike)):
            if isinstance(certificates, str) and not is_path(certificates):  # PEM text
                self._add_all(_parse_certificates(certificates.encode("ascii", "replace"),
                                                  "the PEM data"))
                return
            self.source = os.fspath(certificates)
            self._add_path(self.source)
            return
        try:
            items = iter(certificates)
        except TypeError:
            raise TrustStoreError("a TrustStore takes certificates or a path, not %s"
                                  % type(certificates).__name__) from None
        for item in items:
            if isinstance(item, (str, os.PathLike)) and is_path(item):
                self._add_path(os.fspath(item))
            else:
                self.add(item)

    def _add_system(self, anchors) -> None:
        for anchor in anchors:
            self._insert(anchor)

    def _add_all(self, certificates, source: str | None = None) -> None:
        for certificate in certificates:
            try:
                self.add(certificate)
            except TrustStoreError as exc:
                if source is None:
                    raise
                raise TrustStoreError("%s: %s" % (source, exc)) from None

    def _add_path(self, path: str) -> None:
        """The certificates of a bundle or DER file, or of every CA file of a directory."""
        if os.path.isdir(path):
            read = 0
            for name in _directory_files(path):
                certificates = _parse_certificates(_read_file(name), name)
                self._add_all(certificates, name)
                read += len(certificates)
            if not read:
                raise TrustStoreError("the directory %s holds no CA certificate (*.pem, *.crt, "
                                      "*.cer or OpenSSL's hashed names)" % path)
            return
        data = _read_file(path)
        if not data.strip():
            raise TrustStoreError("%s is empty: it holds no certificate" % path)
        self._add_all(_parse_certificates(data, path), path)

    @classmethod
    def from_pem(cls, source: bytes | str | os.PathLike[str]) -> TrustStore:
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
            data = _read_file(name)
        if b"-----BEGIN" not in data:
            raise TrustStoreError("%s is not a PEM certificate bundle" % name)
        store = cls(_parse_certificates(data, name))
        store.source = None if name == "the PEM data" else name
        return store

    @classmethod
    def from_directory(cls, path: str | os.PathLike[str]) -> TrustStore:
        """A store of every certificate in the *.pem, *.crt and *.cer files of a directory (and
        those named by subject hash, as OpenSSL's CA directories are); empty if it has none."""
        path = os.fspath(path)
        store = cls()
        for name in _directory_files(path):
            store._add_all(_parse_certificates(_read_file(name), name), name)
        store.source = path
        return store

    @classmethod
    def system(cls) -> TrustStore:
        """The operating system's trust anchors, as ``ssl.create_default_context()`` loads
        them: the CA bundle named by ``SSL_CERT_FILE``, or OpenSSL's default bundle, or the one
        the distribution installs (Debian's /etc/ssl/certs/ca-certificates.crt and others); the
        CA directories of ``SSL_CERT_DIR``, or OpenSSL's default directory when no bundle was
        found; else certifi's bundle when certifi is installed. TrustStoreError when there is
        none. Files are read once while they stay unchanged (see
        :mod:`engine.pki.system_trust`)."""
        where = system_trust.locations()
        store = cls()
        sources = []
        for path in where.files:
            if where.file_from_environment:
                if not os.path.isfile(path):
                    raise TrustStoreError("SSL_CERT_FILE names %s, which is not a file" % path)
            elif not os.path.isfile(path):
                continue
            try:
                found = system_trust.cached(path, _system_anchors)
            except TrustStoreError:
                if where.file_from_environment:
                    raise
                continue  # unreadable: the next candidate
            if not found and where.file_from_environment:
                raise TrustStoreError("SSL_CERT_FILE names %s, which holds no CA certificate"
                                      % path)
            if found:
                store._add_system(found)
                sources.append(path)
                break
        if where.directories_from_environment or not sources:
            for path in where.directories:
                if os.path.isdir(path):
                    found = system_trust.cached(path, _system_anchors)
                    store._add_system(found)
                    sources.extend([path] if found else [])
                elif where.directories_from_environment:
                    raise TrustStoreError("SSL_CERT_DIR names %s, which is not a directory"
                                          % path)
        if not sources:
            bundle = system_trust.certifi_bundle()
            if bundle is None:
                raise system_trust.no_anchors_error(where)
            store._add_system(system_trust.cached(bundle, _system_anchors))
            sources.append(bundle)
        store.source = os.pathsep.join(sources)
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
        self._insert(_Anchor(certificate, subject, identifier,
                             certificate.public_bytes(Encoding.DER)))

    def _insert(self, anchor: _Anchor) -> None:
        if anchor.der in self._der:
            return
        self._der.add(anchor.der)
        self._certificates.append(anchor.certificate)
        self._by_subject.setdefault(anchor.subject, []).append(anchor.certificate)
        self._by_key_id.setdefault(anchor.key_id, anchor.certificate)

    @property
    def certificates(self) -> list[x509.Certificate]:
        return list(self._certificates)

    def find_by_subject(self, subject: x509.Name) -> list[x509.Certificate]:
        """The trusted certificates whose subject is ``subject`` (possibly several keys)."""
        return list(self._by_subject.get(subject, ()))

    def find_by_key_id(self, ski: bytes) -> x509.Certificate | None:
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
        return "<TrustStore of %d CA certificates%s>" % (
            len(self._certificates), " from %s" % self.source if self.source else "")
