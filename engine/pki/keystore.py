"""A KeyStore: a private key, its certificate and the intermediates, in a PKCS#12 file (RFC 7292).

Files are written with PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC) for both the key and the
certificates and an HMAC-SHA256 integrity check, which OpenSSL 3 reads; files made by
``openssl pkcs12 -export`` load as well.

A PKCS#12 file's integrity check covers everything, so a file whose structure is sound but whose
check fails is reported as a wrong password: alteration of its encrypted content cannot be told
apart from a wrong password without the right one.
"""

from __future__ import annotations

import os
import re
import warnings
from typing import Callable, Sequence, Union, cast

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import PrivateFormat, pkcs12

from .._fsutil import atomic_write, create_new
from ..errors import CertificateError, KeyStoreError
from . import _der
from .certfile import read_certificates
from .keys import key_type_of, same_public_key


def _password_bytes(password) -> bytes:
    if isinstance(password, str):
        return password.encode("utf-8")
    if isinstance(password, (bytes, bytearray, memoryview)):
        return bytes(password)
    raise KeyStoreError("a password must be bytes or str, not %s" % type(password).__name__)


def _source(value, what: str) -> tuple[bytes, str]:
    """(data, name for messages) of a PEM or DER file path, or of the data itself."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value), "the %s data" % what
    if isinstance(value, str) and "-----BEGIN" in value:
        return value.encode("ascii", "replace"), "the %s data" % what
    if not isinstance(value, (str, os.PathLike)):
        raise KeyStoreError("the %s is a path or bytes, not %s" % (what, type(value).__name__))
    path = os.fspath(value)
    try:
        with open(path, "rb") as fh:
            return fh.read(), path
    except OSError as exc:
        raise KeyStoreError("cannot read the %s file %s: %s"
                            % (what, path, exc.strerror or exc)) from None


# PKCS#8 ("PRIVATE KEY", "ENCRYPTED PRIVATE KEY") and the older RSA, EC and DSA forms
_PEM_KEY = re.compile(rb"-----BEGIN ((?:[A-Z0-9]+ )*PRIVATE KEY)-----.+?-----END \1-----",
                      re.DOTALL)


def read_private_key(data: bytes, source: str, password=None):
    """The private key of PEM (its first private key block, wherever it sits among
    certificates) or DER data. ``password`` (bytes, str, or a function of no argument that
    returns one, called only for an encrypted key) opens an encrypted key and is not needed
    for a plain one, as ``ssl.SSLContext.load_cert_chain`` takes it."""
    if b"-----BEGIN" in data:
        block = _PEM_KEY.search(data)
        if block is None:
            raise KeyStoreError("%s holds no private key (no BEGIN PRIVATE KEY block)" % source)
        data, loader = block.group(0), serialization.load_pem_private_key
    else:
        loader = serialization.load_der_private_key
    try:
        return loader(data, password=None)
    except TypeError:  # encrypted
        pass
    except ValueError:
        raise KeyStoreError("%s holds no readable private key" % source) from None
    except UnsupportedAlgorithm:
        raise KeyStoreError("%s holds a private key of a type that is not supported"
                            % source) from None
    if callable(password):
        password = password()
    if password is None:
        raise KeyStoreError("the private key in %s is encrypted: give its password" % source)
    try:
        return loader(data, password=_password_bytes(password))
    except (ValueError, TypeError):
        raise KeyStoreError("cannot decrypt the private key in %s (wrong password?)"
                            % source) from None


#: A password as KeyStore methods take it: bytes, str, or a function of no argument giving one.
Password = Union[bytes, str, Callable[[], Union[bytes, str]]]


class KeyStore:
    """A private key, the certificate for it, and the chain of intermediates (leaf excluded)."""

    #: PBKDF2 iterations for files this class writes (OWASP's figure for PBKDF2-HMAC-SHA256).
    KDF_ROUNDS = 600_000

    def __init__(self, private_key: CertificateIssuerPrivateKeyTypes, certificate: x509.Certificate,
                 chain: Sequence[x509.Certificate] = ()):
        if not isinstance(certificate, x509.Certificate):
            raise KeyStoreError("the certificate must be an x509.Certificate")
        chain = list(chain)
        for extra in chain:
            if not isinstance(extra, x509.Certificate):
                raise KeyStoreError("every chain entry must be an x509.Certificate")
        if not hasattr(private_key, "public_key") or not same_public_key(
                private_key.public_key(), certificate.public_key()):
            raise KeyStoreError("the private key does not match the certificate of %s"
                                % certificate.subject.rfc4514_string())
        self.private_key = private_key
        self.certificate = certificate
        self.chain = chain

    @property
    def key_type(self) -> str:
        """One of the PKI's key type names ("p256", "rsa2048", ...)."""
        try:
            return key_type_of(self.private_key)
        except ValueError as exc:
            raise KeyStoreError(str(exc)) from None

    def __repr__(self) -> str:
        return "<KeyStore %s (%s), %d in chain>" % (
            self.certificate.subject.rfc4514_string(), type(self.private_key).__name__,
            len(self.chain))

    # --- reading ------------------------------------------------------------------------

    @classmethod
    def from_bytes(cls, data: bytes, password: Password | None, *,
                   source: str = "the KeyStore") -> KeyStore:
        """A KeyStore from PKCS#12 bytes; KeyStoreError says wrong password, corrupt or truncated."""
        password = _password_bytes(password)
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise KeyStoreError("KeyStore data must be bytes, not %s" % type(data).__name__)
        data = bytes(data)
        if not data:
            raise KeyStoreError("%s is empty (truncated)" % source)
        try:
            with warnings.catch_warnings():
                # BER-encoded files (from some Java and Windows tools) load with a warning.
                warnings.filterwarnings("ignore", message="PKCS#12 bundle could not be parsed")
                loaded = pkcs12.load_pkcs12(data, password or None)
        except (ValueError, TypeError):
            verdict = _der.classify_pfx(data)
            if verdict == _der.TRUNCATED:
                raise KeyStoreError("%s is truncated" % source) from None
            if verdict == _der.CORRUPT:
                raise KeyStoreError("%s is corrupt (not a valid PKCS#12 file)" % source) from None
            raise KeyStoreError("wrong password for %s (the file is well formed but does not "
                                "open with this password)" % source) from None
        except Exception:  # an unsupported algorithm inside, say
            raise KeyStoreError("%s cannot be read (unsupported PKCS#12 content)" % source) from None
        if loaded.key is None:
            raise KeyStoreError("%s holds no private key" % source)
        if loaded.cert is None:
            raise KeyStoreError("%s holds no certificate for its private key" % source)
        chain = [extra.certificate for extra in loaded.additional_certs]
        # The file may hold any kind of key: __init__ checks it against the certificate.
        key = cast(CertificateIssuerPrivateKeyTypes, loaded.key)
        return cls(key, loaded.cert.certificate, chain)

    @classmethod
    def load(cls, path: str | os.PathLike[str], password: Password | None) -> KeyStore:
        path = os.fspath(path)
        try:
            with open(path, "rb") as fh:
                data = fh.read()
        except OSError as exc:
            raise KeyStoreError("cannot read KeyStore %s: %s" % (path, exc.strerror)) from None
        return cls.from_bytes(data, password, source="KeyStore %s" % path)

    @classmethod
    def from_pem(cls, cert_file: bytes | str | os.PathLike[str],
                 key_file: bytes | str | os.PathLike[str] | None = None,
                 password: Password | None = None) -> KeyStore:
        """A KeyStore from PEM files, as servers are often given them (and as
        ``ssl.SSLContext.load_cert_chain(certfile, keyfile, password)`` takes them).

        ``cert_file`` holds the certificate, then its intermediates; ``key_file`` its private
        key (PEM or DER), or None when the key is in ``cert_file`` too. Each is a path (str or
        os.PathLike) or the bytes themselves. ``password`` opens an encrypted key: bytes, str,
        or a function of no argument that returns one (called only when the key is encrypted).
        """
        cert_data, cert_name = _source(cert_file, "certificate")
        if key_file is None:
            key_data, key_name = cert_data, cert_name
        else:
            key_data, key_name = _source(key_file, "private key")
        try:
            chain = read_certificates(cert_data, cert_name)
        except CertificateError as exc:
            raise KeyStoreError(str(exc)) from None
        key = read_private_key(key_data, key_name, password)
        try:
            return cls(key, chain[0], chain[1:])
        except KeyStoreError as exc:
            if key_name == cert_name:
                raise
            raise KeyStoreError("%s and %s do not make a key pair: %s"
                                % (cert_name, key_name, exc)) from None

    # --- writing ------------------------------------------------------------------------

    def to_bytes(self, password: Password | None, *, kdf_rounds: int | None = None) -> bytes:
        """PKCS#12 bytes protected by ``password`` (PBES2 AES-256-CBC, HMAC-SHA256)."""
        password = _password_bytes(password)
        if not password:
            raise KeyStoreError("a KeyStore password must not be empty")
        rounds = self.KDF_ROUNDS if kdf_rounds is None else kdf_rounds
        encryption = (
            PrivateFormat.PKCS12.encryption_builder()
            .kdf_rounds(rounds)
            .key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC)
            .hmac_hash(hashes.SHA256())
            .build(password)
        )
        try:
            value = self.certificate.subject.get_attributes_for_oid(
                x509.NameOID.COMMON_NAME)[0].value
            name = value.encode("utf-8") if isinstance(value, str) else None
        except IndexError:
            name = None
        try:
            # PKCS#12 has no ML-DSA keys: serialize_key_and_certificates raises TypeError on
            # one, reported below.
            key = cast(pkcs12.PKCS12PrivateKeyTypes, self.private_key)
            return pkcs12.serialize_key_and_certificates(
                name, key, self.certificate, self.chain or None, encryption)
        except (ValueError, TypeError) as exc:
            raise KeyStoreError("cannot write the KeyStore: %s" % exc) from None

    def save(self, path: str | os.PathLike[str], password: Password | None, *,
             kdf_rounds: int | None = None, exclusive: bool = False) -> None:
        """Write the KeyStore to ``path`` atomically, readable by its owner only.

        With ``exclusive``, ``path`` must not exist (KeyStoreError), even if another process
        creates it while this one works: exactly one of two writers succeeds.
        """
        data = self.to_bytes(password, kdf_rounds=kdf_rounds)
        path = os.fspath(path)
        try:
            if exclusive:
                create_new(path, data, 0o600)
            else:
                atomic_write(path, data, 0o600)
        except FileExistsError:
            raise KeyStoreError("%s exists; remove it or choose another name" % path) from None
        except OSError as exc:
            raise KeyStoreError("cannot write KeyStore %s: %s" % (path, exc.strerror)) from None
