"""Certificate authorities: roots, intermediates, and the leaf certificates they issue.

Everything made here is X.509 v3 (RFC 5280) that OpenSSL accepts: BasicConstraints and KeyUsage
are critical (section 4.2.1.9 and 4.2.1.3), every certificate carries a SubjectKeyIdentifier and,
below the root, an AuthorityKeyIdentifier (4.2.1.1, 4.2.1.2); serial numbers are random positive
integers of at most 128 bits, well within the 20 octets section 4.1.2.2 allows. Revocation lists
follow section 5: a CRLNumber that increases with each list, and the issuer's key identifier.
"""

from __future__ import annotations

import dataclasses
import datetime
import ipaddress
import re
import secrets
from typing import TYPE_CHECKING, Iterable, Sequence

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ..errors import CAError
from .crl import RevocationList, RevokedEntry

if TYPE_CHECKING:
    from .keystore import KeyStore
from .keys import (
    DEFAULT_KEY_TYPE, generate_private_key, is_rsa, same_public_key, signature_hash,
)

#: How far in the past a new certificate starts, so that clocks a little behind still accept it.
BACKDATE = datetime.timedelta(minutes=5)


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def random_serial() -> int:
    """A random positive serial number of exactly 127 bits (16 DER octets, never negative)."""
    return secrets.randbits(126) | (1 << 126)


def _aware(when: datetime.datetime, what: str) -> datetime.datetime:
    if not isinstance(when, datetime.datetime):
        raise CAError("%s must be a datetime, not %s" % (what, type(when).__name__))
    if when.tzinfo is None:
        raise CAError("%s must be timezone-aware (UTC)" % what)
    return when.astimezone(datetime.timezone.utc)


def validity_window(validity_days, not_before=None, not_after=None):
    """The (not_before, not_after) pair: explicit times win over ``validity_days``.

    Without ``not_before`` the window starts :data:`BACKDATE` before now; without ``not_after`` it
    ends ``validity_days`` after its start.
    """
    start = utcnow() - BACKDATE if not_before is None else _aware(not_before, "not_before")
    if not_after is None:
        if isinstance(validity_days, bool) or not isinstance(validity_days, (int, float)) \
                or not validity_days > 0:
            raise CAError("validity_days must be a positive number, not %r" % (validity_days,))
        try:
            end = start + datetime.timedelta(days=validity_days)
        except (OverflowError, ValueError):
            raise CAError("validity_days %r reaches beyond the year 9999" % validity_days) \
                from None
    else:
        end = _aware(not_after, "not_after")
    if end <= start:
        raise CAError("not_after (%s) must be later than not_before (%s)" % (end, start))
    return start.replace(microsecond=0), end.replace(microsecond=0)


def _common_name(name: str) -> x509.Name:
    if not isinstance(name, str) or not name:
        raise CAError("a common name must be a non-empty string")
    if len(name) > 64:  # ub-common-name, RFC 5280 appendix A.1
        raise CAError("common name %r is longer than 64 characters" % name[:64])
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])


# A host name (RFC 1123 section 2.1, underscores tolerated), optionally with a leading "*." label.
_DNS_NAME = re.compile(r"\A(\*\.)?([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\.)*"
                       r"[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\Z")


def general_name(name: str) -> x509.GeneralName:
    """A subjectAltName entry: an IP address when ``name`` parses as one, else a DNS name."""
    if not isinstance(name, str):
        raise CAError("a name must be a string, not %s" % type(name).__name__)
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        pass
    if not name or any(c.isspace() for c in name):
        raise CAError("%r is neither an IP address nor a DNS name" % (name,))
    if not name.isascii():
        try:  # an internationalised name goes in as its A-label (RFC 5280 section 7.2)
            name = ".".join(
                label if label == "*" else label.encode("idna").decode("ascii")
                for label in name.split(".")
            )
        except UnicodeError:
            raise CAError("%r is not a valid internationalised DNS name" % name) from None
    name = name.lower()
    if len(name) > 253 or not _DNS_NAME.match(name):
        raise CAError("%r is neither an IP address nor a DNS name" % name)
    return x509.DNSName(name)


def _key_identifier(certificate: x509.Certificate) -> x509.SubjectKeyIdentifier:
    try:
        return certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    except x509.ExtensionNotFound:
        return x509.SubjectKeyIdentifier.from_public_key(certificate.public_key())


@dataclasses.dataclass(frozen=True)
class IssuedCertificate:
    """A leaf certificate with its private key and the chain up to (not including) the root."""

    certificate: x509.Certificate
    private_key: CertificateIssuerPrivateKeyTypes
    chain: list[x509.Certificate]  # [leaf, issuing CA, ..., last intermediate]

    @property
    def serial_number(self) -> int:
        return self.certificate.serial_number

    def keystore(self) -> KeyStore:
        """This certificate, its key and its intermediates as a :class:`KeyStore`."""
        from .keystore import KeyStore

        return KeyStore(self.private_key, self.certificate, list(self.chain[1:]))


class CertificateAuthority:
    """A CA: its key, its certificate, its parent (None for a root) and its revocations."""

    def __init__(self, private_key: CertificateIssuerPrivateKeyTypes, certificate: x509.Certificate,
                 parent: CertificateAuthority | None = None, *,
                 revoked: Iterable[RevokedEntry] = (), next_crl_number: int = 1):
        if not isinstance(certificate, x509.Certificate):
            raise CAError("a CA certificate must be an x509.Certificate")
        try:
            constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints)
        except x509.ExtensionNotFound:
            constraints = None
        except ValueError:
            raise CAError("the CA certificate has malformed extensions") from None
        if constraints is None or not constraints.value.ca:
            raise CAError("%s is not a CA certificate" % certificate.subject.rfc4514_string())
        if not hasattr(private_key, "public_key") or not same_public_key(
                private_key.public_key(), certificate.public_key()):
            raise CAError("the private key does not match the CA certificate")
        self.private_key = private_key
        self.certificate = certificate
        self.parent = parent
        self.revoked = {entry.serial: entry for entry in revoked}
        self.next_crl_number = next_crl_number

    def __repr__(self) -> str:
        return "<CertificateAuthority %s>" % self.certificate.subject.rfc4514_string()

    # --- the CA itself ------------------------------------------------------------------

    @property
    def chain(self) -> list[x509.Certificate]:
        """This CA's certificate, then its parent's, up to and including the root."""
        chain: list[x509.Certificate] = []
        ca: CertificateAuthority | None = self
        while ca is not None:
            chain.append(ca.certificate)
            ca = ca.parent
        return chain

    @property
    def name(self) -> x509.Name:
        return self.certificate.subject

    @classmethod
    def create_root(cls, common_name: str, key_type: str = DEFAULT_KEY_TYPE,
                    validity_days: float = 3650, not_before: datetime.datetime | None = None,
                    not_after: datetime.datetime | None = None) -> CertificateAuthority:
        """A self-signed root CA (no path length limit)."""
        key = generate_private_key(key_type)
        subject = _common_name(common_name)
        start, end = validity_window(validity_days, not_before, not_after)
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(random_serial())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(_ca_key_usage(), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
        )
        return cls(key, builder.sign(key, signature_hash(key)))

    def create_intermediate(self, common_name: str, key_type: str = DEFAULT_KEY_TYPE,
                            path_length: int | None = 0, validity_days: float = 1825,
                            not_before: datetime.datetime | None = None,
                            not_after: datetime.datetime | None = None) -> CertificateAuthority:
        """A subordinate CA signed by this one; ``path_length`` limits the CAs below it."""
        if path_length is not None and (not isinstance(path_length, int) or path_length < 0):
            raise CAError("path_length must be None or a non-negative integer")
        subject = _common_name(common_name)
        window = validity_window(validity_days, not_before, not_after)
        key = generate_private_key(key_type)
        certificate = self._sign(
            subject, key.public_key(), window,
            [(x509.BasicConstraints(ca=True, path_length=path_length), True),
             (_ca_key_usage(), True)],
        )
        return CertificateAuthority(key, certificate, parent=self)

    # --- issuing ------------------------------------------------------------------------

    def issue_server(self, names: Sequence[str] | str, key_type: str = DEFAULT_KEY_TYPE,
                     validity_days: float = 90, not_before: datetime.datetime | None = None,
                     not_after: datetime.datetime | None = None, common_name: str | None = None,
                     private_key: CertificateIssuerPrivateKeyTypes | None = None,
                     ) -> IssuedCertificate:
        """A TLS server certificate for DNS names and IP addresses (serverAuth)."""
        if isinstance(names, str):
            names = [names]
        names = list(names)
        if not names:
            raise CAError("a server certificate needs at least one DNS name or IP address")
        alt_names = []
        for name in names:
            entry = general_name(name)
            if entry not in alt_names:
                alt_names.append(entry)
        if common_name is not None or len(names[0]) <= 64:
            subject = _common_name(common_name or names[0])
        else:  # no room for the name in a CN: an empty subject, and then the SAN is critical
            subject = x509.Name([])  # (RFC 5280 section 4.2.1.6)
        window = validity_window(validity_days, not_before, not_after)
        key = private_key if private_key is not None else generate_private_key(key_type)
        usage = _leaf_key_usage(key_encipherment=is_rsa(key))
        certificate = self._sign(
            subject, key.public_key(), window,
            [(x509.BasicConstraints(ca=False, path_length=None), True), (usage, True),
             (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False),
             (x509.SubjectAlternativeName(alt_names), not subject)],
        )
        return IssuedCertificate(certificate, key, [certificate] + self.chain[:-1])

    def issue_client(self, name: str, key_type: str = DEFAULT_KEY_TYPE,
                     validity_days: float = 90, not_before: datetime.datetime | None = None,
                     not_after: datetime.datetime | None = None,
                     private_key: CertificateIssuerPrivateKeyTypes | None = None,
                     ) -> IssuedCertificate:
        """A TLS client certificate with CN=``name`` (clientAuth)."""
        subject = _common_name(name)
        window = validity_window(validity_days, not_before, not_after)
        key = private_key if private_key is not None else generate_private_key(key_type)
        certificate = self._sign(
            subject, key.public_key(), window,
            [(x509.BasicConstraints(ca=False, path_length=None), True),
             (_leaf_key_usage(key_encipherment=False), True),
             (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), False)],
        )
        return IssuedCertificate(certificate, key, [certificate] + self.chain[:-1])

    def _sign(self, subject, public_key, window, extensions) -> x509.Certificate:
        start, end = window
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.certificate.subject)
            .public_key(public_key)
            .serial_number(random_serial())
            .not_valid_before(start)
            .not_valid_after(end)
        )
        for extension, critical in extensions:
            builder = builder.add_extension(extension, critical=critical)
        builder = builder.add_extension(
            x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False
        ).add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
                _key_identifier(self.certificate)),
            critical=False,
        )
        try:
            return builder.sign(self.private_key, signature_hash(self.private_key))
        except (ValueError, TypeError) as exc:
            raise CAError("cannot sign the certificate: %s" % exc) from None

    # --- revocation ---------------------------------------------------------------------

    def revoke(self, serial: int, reason: x509.ReasonFlags | None = x509.ReasonFlags.key_compromise,
               revocation_date: datetime.datetime | None = None) -> RevokedEntry:
        """Put ``serial`` on the next CRL; CAError if it is already revoked."""
        if not isinstance(serial, int) or serial <= 0 or serial.bit_length() > 159:
            raise CAError("a serial number must be a positive integer of at most 20 octets")
        if serial in self.revoked:
            raise CAError("serial %x is already revoked" % serial)
        if reason is not None and not isinstance(reason, x509.ReasonFlags):
            reason = x509.ReasonFlags(reason)
        when = utcnow() if revocation_date is None else _aware(revocation_date, "revocation_date")
        entry = RevokedEntry(serial, when.replace(microsecond=0), reason)
        self.revoked[serial] = entry
        return entry

    def crl(self, this_update: datetime.datetime | None = None,
            next_update: datetime.datetime | None = None,
            validity_days: float = 7) -> RevocationList:
        """A signed CRL of every revocation so far; each call takes the next CRLNumber."""
        start = utcnow() - BACKDATE if this_update is None else _aware(this_update, "this_update")
        if next_update is None:
            try:
                end = start + datetime.timedelta(days=validity_days)
            except (OverflowError, ValueError, TypeError):
                raise CAError("validity_days must be a positive number of days") from None
        else:
            end = _aware(next_update, "next_update")
        if end <= start:
            raise CAError("next_update must be later than this_update")
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.certificate.subject)
            .last_update(start.replace(microsecond=0))
            .next_update(end.replace(microsecond=0))
            .add_extension(x509.CRLNumber(self.next_crl_number), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
                    _key_identifier(self.certificate)),
                critical=False,
            )
        )
        for entry in sorted(self.revoked.values(), key=lambda e: e.serial):
            revoked = (
                x509.RevokedCertificateBuilder()
                .serial_number(entry.serial)
                .revocation_date(entry.revocation_date)
            )
            if entry.reason is not None:
                revoked = revoked.add_extension(x509.CRLReason(entry.reason), critical=False)
            builder = builder.add_revoked_certificate(revoked.build())
        crl = builder.sign(self.private_key, signature_hash(self.private_key))
        self.next_crl_number += 1
        return RevocationList(crl)


def _ca_key_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=False, content_commitment=False, key_encipherment=False,
        data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
        encipher_only=False, decipher_only=False,
    )


def _leaf_key_usage(key_encipherment: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True, content_commitment=False, key_encipherment=key_encipherment,
        data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
        encipher_only=False, decipher_only=False,
    )

