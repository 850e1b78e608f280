"""Turning what callers pass (DER, PEM, cryptography objects, engine.pki objects) into DER and
parsed certificates, once.

Parsed certificates are kept in a bounded cache keyed by their DER encoding, so the
intermediates that every chain of a batch shares, and those of the next batch, are parsed once.
"""

from __future__ import annotations

import contextlib
import datetime
import itertools
import operator
import os
import warnings

from cryptography import x509
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.hazmat.primitives.serialization import Encoding

from ..errors import CRLError, TrustStoreError
from .cache import BoundedCache

_PEM_CERT = b"-----BEGIN CERTIFICATE-----"
_PEM_CRL = b"-----BEGIN X509 CRL-----"

PARSED_CACHE_SIZE = 2048  # parsed objects grow Python-side state; keep the GC cheap


class MalformedInput(ValueError):
    """A certificate of a chain cannot be read; the chain's verdict is ``malformed``."""


_parsed = BoundedCache(PARSED_CACHE_SIZE)

# What cryptography raises for a certificate it reads only in part: a ValueError, or one of
# its own exception classes that are not ValueErrors (a version other than 1 to 3, an
# extension present twice).
UNREADABLE = (ValueError, TypeError, x509.InvalidVersion, x509.DuplicateExtension)


@contextlib.contextmanager
def quiet():
    """Silence cryptography's deprecation warnings for certificates it will refuse one day
    (a non-positive serial): the verdict, not a warning, is how such a certificate is
    reported."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        yield


def is_path(value) -> bool:
    """Whether ``value`` names a file or directory: an os.PathLike, or a str that is not PEM
    text (PEM text is data wherever a certificate, a bundle or a CRL is taken)."""
    return isinstance(value, os.PathLike) or (isinstance(value, str) and "-----BEGIN" not in value)


def _as_bytes(item) -> bytes:
    if isinstance(item, str):
        return item.encode("ascii", "replace")
    if isinstance(item, (bytes, bytearray, memoryview)):
        return bytes(item)
    raise MalformedInput("expected DER or PEM bytes or an x509.Certificate, got %s"
                         % type(item).__name__)


def certificate_der(item) -> bytes:
    """The DER encoding of one certificate given as DER, PEM or an x509.Certificate."""
    if isinstance(item, x509.Certificate):
        return item.public_bytes(Encoding.DER)
    certificate = getattr(item, "certificate", None)  # IssuedCertificate, CertificateAuthority
    if isinstance(certificate, x509.Certificate):
        return certificate.public_bytes(Encoding.DER)
    data = _as_bytes(item)
    if _PEM_CERT in data:
        return certificate_der(parse_pem_certificates(data)[0])
    if not data:
        raise MalformedInput("an empty certificate")
    return data


def parse_pem_certificates(data: bytes) -> list[x509.Certificate]:
    try:
        with quiet():
            certificates = x509.load_pem_x509_certificates(data)
    except UNREADABLE as exc:
        raise MalformedInput("unreadable PEM certificate: %s" % exc) from None
    return certificates


def certificate(der: bytes) -> x509.Certificate:
    """The parsed certificate for ``der``, from the cache when seen before. Its extensions are
    read here too, so that a certificate cryptography cannot fully read is refused once, as
    MalformedInput, rather than raising later from deep inside a check."""
    found = _parsed.get(der)
    if found is None:
        try:
            # cryptography warns for a non-positive serial (RFC 5280 4.1.2.2), the
            # certificate's own or one in its authorityKeyIdentifier, when it reads the
            # extensions: the verdict, not a warning on stderr, says what is wrong
            with quiet():
                found = x509.load_der_x509_certificate(der)
                found.extensions  # noqa: B018 - parsed now, once
        except UNREADABLE as exc:
            raise MalformedInput("unreadable certificate: %s" % (exc,)) from None
        _parsed.put(der, found)
    return found


def chain_ders(chain) -> tuple[bytes, ...]:
    """A presented chain (leaf first) as a tuple of DER blobs.

    A single PEM text holding several certificates counts as the whole chain.
    """
    if isinstance(chain, (bytes, bytearray, memoryview, str)):
        data = _as_bytes(chain)
        if _PEM_CERT in data:
            return tuple(c.public_bytes(Encoding.DER) for c in parse_pem_certificates(data))
        return (data,)
    if isinstance(chain, x509.Certificate):
        return (certificate_der(chain),)
    try:
        items = list(chain)
    except TypeError:
        raise MalformedInput("a chain must be a sequence of certificates") from None
    if not items:
        raise MalformedInput("an empty chain")
    if all(type(item) is bytes and item[:1] == b"\x30" for item in items):
        return tuple(items)  # DER already (a PEM text never starts with a SEQUENCE tag)
    out: list[bytes] = []
    for item in items:
        if isinstance(item, (bytes, bytearray, str)) and _PEM_CERT in _as_bytes(item):
            out.extend(c.public_bytes(Encoding.DER) for c in parse_pem_certificates(_as_bytes(item)))
        else:
            out.append(certificate_der(item))
    return tuple(out)


_SEQUENCES = {list, tuple}
_DER_ONLY = {bytes}
_SEQUENCE_TAG = {0x30}
_first_byte = operator.itemgetter(0)


def der_flat(chains: list) -> list[bytes] | None:
    """Every certificate of every chain, in order, when each chain is a list or tuple of DER
    blobs (bytes starting with a SEQUENCE tag, which a PEM text never does), checked in
    whole-list operations: then the chains need no conversion. None otherwise."""
    if not set(map(type, chains)) <= _SEQUENCES:
        return None
    flat = list(itertools.chain.from_iterable(chains))
    if not set(map(type, flat)) <= _DER_ONLY:
        return None
    try:
        return flat if set(map(_first_byte, flat)) <= _SEQUENCE_TAG else None
    except IndexError:  # an empty item
        return None


def all_der(chains: list) -> bool:
    """Whether every chain is a list or tuple of DER blobs (see :func:`der_flat`)."""
    return der_flat(chains) is not None


TRUST_CACHE_SIZE = 16
_trusts = BoundedCache(TRUST_CACHE_SIZE)
_IMMUTABLE = (bytes, str, x509.Certificate)


def _snapshot(trust):
    """What a trust argument holds now, as a tuple that compares by identity; None when some
    member could change in place (then the anchors are read afresh every call)."""
    items = getattr(trust, "certificates", None)
    if items is None:
        items = trust
    if isinstance(items, (bytes, str)):
        return (items,)
    if not isinstance(items, (list, tuple)):
        return None  # an iterator or a set: read it each time
    for item in items:
        if not isinstance(item, _IMMUTABLE):
            return None
    return tuple(items)


def trust_ders(trust) -> tuple[bytes, ...]:
    """The trust anchors as DER blobs, in order, without repeats.

    ``trust`` is a TrustStore (anything with ``.certificates``), PEM text of a bundle, or an
    iterable of certificates in any accepted form. The answer is kept per trust object while
    it holds the very same (immutable) members, so a TrustStore used for every handshake is
    encoded once; a store that gains a certificate is read again.
    """
    if trust is None:
        raise TrustStoreError("no trust anchors given")
    snapshot = _snapshot(trust)
    if snapshot is not None:
        known = _trusts.get(id(trust))
        if known is not None and known[0] is trust and _same(known[1], snapshot):
            return known[2]
    ders = _read_trust(trust)
    if snapshot is not None:
        _trusts.put(id(trust), (trust, snapshot, ders))  # holds trust: its id stays its own
    return ders


def _same(old: tuple, new: tuple) -> bool:
    return len(old) == len(new) and all(a is b for a, b in zip(old, new))


def _read_trust(trust) -> tuple[bytes, ...]:
    items = getattr(trust, "certificates", None)
    if items is None:
        items = trust
    if is_path(items):  # a PEM bundle, a DER certificate or a directory of them
        from ..pki.truststore import TrustStore

        items = TrustStore(items).certificates
    if isinstance(items, (bytes, bytearray, str)):
        data = _as_bytes(items)
        try:
            items = x509.load_pem_x509_certificates(data) if _PEM_CERT in data else [data]
        except ValueError as exc:
            raise TrustStoreError("unreadable trust bundle: %s" % exc) from None
    seen: dict[bytes, None] = {}
    try:
        for item in items:
            der = certificate_der(item)
            certificate(der)  # parse now: a bad anchor is the caller's error, not a verdict
            seen.setdefault(der, None)
    except MalformedInput as exc:
        raise TrustStoreError("unreadable trust anchor: %s" % exc) from None
    except TypeError:
        raise TrustStoreError("trust must be a TrustStore or an iterable of certificates") from None
    return tuple(seen)


def crl_ders(crls) -> tuple[bytes, ...]:
    """The CRLs as DER blobs, without repeats.

    Accepts a RevocationList (anything with ``.crl``), an x509 CRL, PEM (one or several CRLs)
    or DER, or an iterable of those.
    """
    if crls is None:
        return ()
    if _is_one_crl(crls):
        crls = [crls]
    seen: dict[bytes, None] = {}
    for item in crls:
        for der in _one_crl_ders(item):
            seen.setdefault(der, None)
    return tuple(seen)


def _is_one_crl(item) -> bool:
    return (
        isinstance(item, (bytes, bytearray, memoryview, str, os.PathLike,
                          x509.CertificateRevocationList))
        or getattr(item, "crl", None) is not None
    )


def _one_crl_ders(item) -> list[bytes]:
    if is_path(item):  # a CRL file, PEM or DER
        from ..pki.crl import RevocationList

        item = RevocationList.load(item)
    inner = getattr(item, "crl", None)
    if isinstance(inner, x509.CertificateRevocationList):
        item = inner
    if isinstance(item, x509.CertificateRevocationList):
        der = item.public_bytes(Encoding.DER)
        load_crl(der)  # the same checks as for bytes
        return [der]
    if not isinstance(item, (bytes, bytearray, memoryview, str)):
        raise CRLError("a CRL must be a RevocationList, an x509 CRL, PEM or DER, not %s"
                       % type(item).__name__)
    data = _as_bytes(item)
    if _PEM_CRL in data:
        out = []
        for block in data.split(_PEM_CRL)[1:]:
            pem = _PEM_CRL + block.split(b"-----END X509 CRL-----")[0] + b"-----END X509 CRL-----\n"
            out.append(load_crl(pem, pem=True).public_bytes(Encoding.DER))
        return out
    load_crl(data)
    return [data]


_parsed_crls = BoundedCache(64)


def load_crl(data: bytes, pem: bool = False) -> x509.CertificateRevocationList:
    key = (pem, data)
    found = _parsed_crls.get(key)
    if found is None:
        try:
            found = (x509.load_pem_x509_crl if pem else x509.load_der_x509_crl)(data)
            # read and encode the issuer now (the revocation index keys CRLs by its DER): a
            # name cryptography cannot read or encode is refused here, not mid-handshake
            found.issuer.public_bytes()
        except UNREADABLE as exc:
            raise CRLError("unreadable CRL: %s" % exc, reason="malformed") from None
        _parsed_crls.put(key, found)
    return found


def verification_time(at) -> datetime.datetime:
    """``at`` as an aware UTC datetime (naive means UTC); now when None, to the whole second
    (certificate and CRL times have no finer grain, and the native side counts whole seconds),
    so that calls within one second share the verifiers built for that time."""
    if at is None:
        return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    if not isinstance(at, datetime.datetime):
        raise TypeError("at must be a datetime")
    if at.tzinfo is None:
        return at.replace(tzinfo=datetime.timezone.utc)
    return at.astimezone(datetime.timezone.utc)
