"""Certificate revocation lists (RFC 5280 section 5): reading, checking and looking up serials."""

from __future__ import annotations

import dataclasses
import datetime
import os
from typing import cast

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPublicKeyTypes

from .._fsutil import atomic_write
from ..errors import CRLError


@dataclasses.dataclass(frozen=True)
class RevokedEntry:
    """One revoked certificate: its serial, when it was revoked, and why (None if not said)."""

    serial: int
    revocation_date: datetime.datetime
    reason: x509.ReasonFlags | None = None


class RevocationList:
    """An X.509 CRL with O(1) lookup of revoked serial numbers."""

    def __init__(self, crl: x509.CertificateRevocationList):
        if not isinstance(crl, x509.CertificateRevocationList):
            raise CRLError("expected an x509.CertificateRevocationList, not %s"
                           % type(crl).__name__)
        self.crl = crl
        # cryptography parses fields on first use; parse them all now, so that a damaged CRL
        # fails here, as one CRLError, and never later inside a check or a lookup.
        try:
            self._issuer = crl.issuer
            self._issuer.rfc4514_string()
            self._this_update = crl.last_update_utc
            self._next_update = crl.next_update_utc
            self._crl_number: int | None
            try:
                self._crl_number = crl.extensions.get_extension_for_class(
                    x509.CRLNumber).value.crl_number
            except x509.ExtensionNotFound:
                self._crl_number = None
            self._entries = {entry.serial: entry for entry in map(_entry, crl)}
        except Exception as exc:  # ValueError, KeyError, InvalidVersion... from damaged fields
            raise CRLError("the CRL is malformed (%s)" % type(exc).__name__) from None

    # --- reading ------------------------------------------------------------------------

    @classmethod
    def from_bytes(cls, data: bytes | str) -> RevocationList:
        """A CRL from PEM or DER bytes; CRLError(reason="malformed") if it is neither."""
        if isinstance(data, str):
            data = data.encode("ascii", "replace")
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise CRLError("CRL data must be bytes, not %s" % type(data).__name__)
        data = bytes(data)
        try:
            if b"-----BEGIN" in data:
                crl = x509.load_pem_x509_crl(data)
            else:
                crl = x509.load_der_x509_crl(data)
        except Exception:  # ValueError, or InvalidVersion for a damaged version field
            raise CRLError("the data is not a PEM or DER certificate revocation list") from None
        return cls(crl)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> RevocationList:
        try:
            with open(path, "rb") as fh:
                data = fh.read()
        except OSError as exc:
            raise CRLError("cannot read CRL %s: %s" % (os.fspath(path), exc.strerror)) from None
        try:
            return cls.from_bytes(data)
        except CRLError as exc:
            raise CRLError("%s: %s" % (os.fspath(path), exc), exc.reason) from None

    # --- what it says -------------------------------------------------------------------

    @property
    def issuer(self) -> x509.Name:
        return self._issuer

    @property
    def crl_number(self) -> int | None:
        return self._crl_number

    @property
    def this_update(self) -> datetime.datetime:
        return self._this_update

    @property
    def next_update(self) -> datetime.datetime | None:
        return self._next_update

    def lookup(self, serial: int) -> RevokedEntry | None:
        """The entry for ``serial`` if it is revoked by this list, else None."""
        return self._entries.get(serial)

    def __contains__(self, serial: int) -> bool:
        return serial in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self):
        return iter(self._entries.values())

    def __repr__(self) -> str:
        return "<RevocationList %s #%s, %d revoked>" % (
            self.issuer.rfc4514_string(), self.crl_number, len(self._entries))

    # --- checking -----------------------------------------------------------------------

    def check(self, issuer_certificate: x509.Certificate, at: datetime.datetime | None = None):
        """Raise CRLError unless ``issuer_certificate`` issued this CRL and it is current at ``at``.

        The issuer's name must match (RFC 5280 section 6.3.3 (b)), its KeyUsage, when present,
        must allow cRLSign (6.3.3 (f)), the signature must verify with its key (6.3.3 (g)), and
        ``at`` (default now) must lie between thisUpdate and nextUpdate.
        """
        try:
            subject = issuer_certificate.subject
            subject.rfc4514_string()
        except Exception:
            raise CRLError("the issuer certificate has a malformed subject", "malformed") from None
        if self._issuer != subject:
            raise CRLError(
                "the CRL was issued by %s, not %s"
                % (self._issuer.rfc4514_string(), subject.rfc4514_string()),
                "wrong_issuer",
            )
        try:
            usage = issuer_certificate.extensions.get_extension_for_class(x509.KeyUsage).value
        except x509.ExtensionNotFound:
            usage = None
        except Exception:
            raise CRLError("the issuer certificate has malformed extensions", "malformed") from None
        if usage is not None and not usage.crl_sign:
            raise CRLError("%s may not sign CRLs (no cRLSign key usage)"
                           % subject.rfc4514_string(), "no_crl_sign")
        try:
            # The certificate's key may be of a type no CRL is signed with (X25519, ML-KEM...):
            # is_signature_valid raises on it, and the except below counts that as invalid.
            key = cast(CertificateIssuerPublicKeyTypes, issuer_certificate.public_key())
            valid = self.crl.is_signature_valid(key)
        except Exception:  # an unsupported or damaged key: the signature cannot verify
            valid = False
        if not valid:
            raise CRLError("the CRL signature does not verify with the key of %s"
                           % subject.rfc4514_string(), "bad_signature")
        if at is None:
            at = datetime.datetime.now(datetime.timezone.utc)
        elif at.tzinfo is None:
            raise CRLError("the check time must be timezone-aware", "malformed")
        if at < self.this_update:
            raise CRLError("the CRL is not valid before %s" % self.this_update.isoformat(),
                           "not_yet_valid")
        if self.next_update is not None and at > self.next_update:
            raise CRLError("the CRL expired at %s" % self.next_update.isoformat(), "expired")

    # --- writing ------------------------------------------------------------------------

    def to_pem(self) -> bytes:
        from cryptography.hazmat.primitives.serialization import Encoding

        return self.crl.public_bytes(Encoding.PEM)

    def to_der(self) -> bytes:
        from cryptography.hazmat.primitives.serialization import Encoding

        return self.crl.public_bytes(Encoding.DER)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the CRL as PEM, atomically."""
        atomic_write(path, self.to_pem(), 0o644)


def _entry(revoked: x509.RevokedCertificate) -> RevokedEntry:
    try:
        reason = revoked.extensions.get_extension_for_class(x509.CRLReason).value.reason
    except x509.ExtensionNotFound:
        reason = None
    return RevokedEntry(revoked.serial_number, revoked.revocation_date_utc, reason)
