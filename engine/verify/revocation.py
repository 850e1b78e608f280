"""Revocation checking against CRLs, for every certificate of a built path (RFC 5280 6.3).

Each CRL is checked once per issuer, not once per chain: its signature under the issuer's key,
the issuer's cRLSign key usage (6.3.3 f: required when keyUsage is present), its time window
(thisUpdate <= time <= nextUpdate) and the CRLNumber extension it must carry, non-critical
(5.2.3). Its serials go in a dictionary, so each certificate is one lookup.

A path is checked from the leaf up to, not including, its trust anchor; every certificate in
it must be covered by a valid CRL from its issuer (a missing CRL is ``crl_invalid``), as
OpenSSL's X509_V_FLAG_CRL_CHECK_ALL has it.
"""

from __future__ import annotations

import dataclasses
import datetime
import threading
from typing import cast

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPublicKeyTypes
from cryptography.x509.oid import ExtensionOID

from . import inputs
from .cache import BoundedCache

# Extensions a CRL may carry that this checker understands (RFC 5280 5.2).
_KNOWN_CRL_EXTENSIONS = {
    ExtensionOID.CRL_NUMBER,
    ExtensionOID.AUTHORITY_KEY_IDENTIFIER,
    ExtensionOID.ISSUER_ALTERNATIVE_NAME,
    ExtensionOID.AUTHORITY_INFORMATION_ACCESS,
}


@dataclasses.dataclass(frozen=True)
class RevocationFault:
    """Why a certificate at ``depth`` of a path did not pass revocation checking."""

    reason: str  # "revoked" or "crl_invalid"
    detail: str
    depth: int


def _as_utc(value: datetime.datetime | None) -> datetime.datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=datetime.timezone.utc)


def _describe(name: x509.Name) -> str:
    try:
        return name.rfc4514_string() or "(empty name)"
    except (ValueError, TypeError):
        return "(unprintable name)"


class _CRL:
    """One CRL, parsed, with a serial table built on first use."""

    def __init__(self, der: bytes):
        self.der = der
        self.crl = inputs.load_crl(der)
        self.issuer_der = self.crl.issuer.public_bytes()
        self._serials: dict[int, x509.RevokedCertificate] | None = None
        self.problem = self._structural_problem()

    def _structural_problem(self) -> str | None:
        try:
            extensions = self.crl.extensions
        except (ValueError, TypeError) as exc:
            return "the CRL has a malformed extension (%s)" % exc
        number = None
        for ext in extensions:
            if ext.oid == ExtensionOID.CRL_NUMBER:
                number = ext
            elif ext.critical and ext.oid not in _KNOWN_CRL_EXTENSIONS:
                return "the CRL has an unsupported critical extension %s" % ext.oid.dotted_string
        if number is None:
            return "the CRL has no CRLNumber extension (RFC 5280 5.2.3)"
        if number.critical:
            return "the CRL's CRLNumber extension is marked critical (RFC 5280 5.2.3)"
        if self.crl.next_update_utc is None:
            return "the CRL has no nextUpdate"
        return None

    @property
    def serials(self) -> dict[int, x509.RevokedCertificate]:
        if self._serials is None:
            self._serials = {entry.serial_number: entry for entry in self.crl}
        return self._serials


class RevocationIndex:
    """The CRLs of one verification call (or of several calls with the same CRL set)."""

    def __init__(self, ders: tuple[bytes, ...]):
        self._by_issuer: dict[bytes, list[_CRL]] = {}
        for der in ders:
            entry = _CRL(der)
            self._by_issuer.setdefault(entry.issuer_der, []).append(entry)
        self._verdicts: dict[tuple[bytes, x509.Certificate], str | None] = {}
        self._candidates: dict[x509.Name, list[_CRL]] = {}
        self._lock = threading.Lock()

    def __bool__(self) -> bool:
        return bool(self._by_issuer)

    def _crl_problem(self, entry: _CRL, issuer: x509.Certificate) -> str | None:
        """Why ``entry`` cannot be used as ``issuer``'s CRL (time aside), or None."""
        key = (entry.der, issuer)
        with self._lock:
            if key in self._verdicts:
                return self._verdicts[key]
        problem = entry.problem
        if problem is None:
            try:
                usage = issuer.extensions.get_extension_for_class(x509.KeyUsage).value
            except x509.ExtensionNotFound:
                usage = None
            except (ValueError, TypeError):
                usage = None
            if usage is not None and not usage.crl_sign:
                problem = "the CRL issuer's keyUsage lacks cRLSign (RFC 5280 4.2.1.3)"
        if problem is None:
            try:
                # A key of a type no CRL is signed with makes this raise, caught below.
                issuer_key = cast(CertificateIssuerPublicKeyTypes, issuer.public_key())
                if not entry.crl.is_signature_valid(issuer_key):
                    problem = "the CRL's signature does not verify under its issuer's key"
            except (InvalidSignature, UnsupportedAlgorithm, ValueError, TypeError) as exc:
                problem = "the CRL's signature cannot be checked (%s)" % exc
        with self._lock:
            self._verdicts[key] = problem
        return problem

    def check_path(self, path, at: datetime.datetime) -> RevocationFault | None:
        """The first revocation fault of ``path`` (leaf first, anchor last), or None."""
        for depth in range(len(path) - 1):
            subject, issuer = path[depth], path[depth + 1]
            fault = self._check_one(subject, issuer, at, depth)
            if fault is not None:
                return fault
        return None

    def _crls_named(self, name: x509.Name) -> list[_CRL]:
        found = self._candidates.get(name)
        if found is None:
            found = self._by_issuer.get(name.public_bytes(), [])
            with self._lock:
                if len(self._candidates) > 4096:
                    self._candidates.clear()
                self._candidates[name] = found
        return found

    def _check_one(self, subject, issuer, at, depth) -> RevocationFault | None:
        candidates = self._crls_named(subject.issuer)
        if not candidates:
            return RevocationFault(
                "crl_invalid", "no CRL from %s covers the certificate" % _describe(subject.issuer),
                depth,
            )
        usable, problems = [], []
        for entry in candidates:
            problem = self._crl_problem(entry, issuer)
            if problem is None:
                this_update = _as_utc(entry.crl.last_update_utc)
                next_update = _as_utc(entry.crl.next_update_utc)
                if this_update is not None and at < this_update:
                    problem = "the CRL is not yet valid (thisUpdate %s)" % this_update.isoformat()
                elif next_update is not None and at > next_update:
                    problem = "the CRL has expired (nextUpdate %s)" % next_update.isoformat()
            if problem is None:
                usable.append(entry)
            else:
                problems.append(problem)
        if not usable:
            return RevocationFault("crl_invalid", problems[0], depth)
        serial = subject.serial_number
        for entry in usable:
            revoked = entry.serials.get(serial)
            if revoked is not None:
                return RevocationFault("revoked", _revoked_detail(revoked), depth)
        return None


def _revoked_detail(entry: x509.RevokedCertificate) -> str:
    reason = None
    try:
        reason = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
    except (x509.ExtensionNotFound, ValueError, TypeError):
        reason = None
    when = _as_utc(entry.revocation_date_utc)
    text = "the certificate (serial %#x) was revoked on %s" % (
        entry.serial_number, when.date().isoformat() if when else "an unknown date")
    if reason is not None:
        text += ", reason: %s" % reason.name
    return text


_indexes = BoundedCache(16)


def index_for(ders: tuple[bytes, ...]) -> RevocationIndex:
    """The index for a CRL set, kept for later calls with the same CRLs."""
    return _indexes.get_or_make(ders, RevocationIndex)
