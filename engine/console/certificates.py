"""The console's certificate work: issuing, revoking, the CRL, and the server's TLS settings.

A revocation republishes the CRL at once; the ServerConfig handed to each new connection is
rebuilt from that CRL, so with client certificates on, the very next handshake checks against
it. The CRL is also republished whenever less than half its validity is left.
"""

from __future__ import annotations

import dataclasses
import datetime
import threading

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from ..errors import CAError, EngineError
from ..pki import TrustStore

CRL_DAYS = 7
#: The console prefers the post-quantum hybrid whenever a browser offers it.
GROUPS = ("X25519MLKEM768", "x25519", "secp256r1", "secp384r1")
MAX_VALIDITY_DAYS = 825
MAX_NAMES = 20
#: Reasons offered when revoking a leaf certificate (RFC 5280 section 5.3.1).
REASONS = (
    x509.ReasonFlags.unspecified,
    x509.ReasonFlags.key_compromise,
    x509.ReasonFlags.affiliation_changed,
    x509.ReasonFlags.superseded,
    x509.ReasonFlags.cessation_of_operation,
    x509.ReasonFlags.privilege_withdrawn,
)
REASON_BY_VALUE = {reason.value: reason for reason in REASONS}


class RequestError(EngineError):
    """What an administrator asked for cannot be done; the message says why (shown as is)."""


@dataclasses.dataclass(frozen=True)
class CheckResult:
    """What the console says of a certificate someone uploaded."""

    subject: str
    serial: str
    issuer: str
    not_after: datetime.datetime
    issued_here: bool
    verdict: str  # "valid", or the verifier's reason ("revoked", "expired", ...)
    detail: str


def _utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


class ConsoleCA:
    """The console directory's CA, as the web pages use it."""

    def __init__(self, directory, *, client_certificates: bool = False,
                 crl_days: float = CRL_DAYS):
        self.directory = directory
        self.ca = directory.ca
        self.client_certificates = client_certificates
        self.crl_days = crl_days
        self.trust = TrustStore([self.ca.certificate])
        self._lock = threading.Lock()
        self._crl = self.ca.crl(validity_days=crl_days)  # fresh for this run
        self._config = None

    # --- TLS --------------------------------------------------------------------------------

    def server_config(self):
        """The ServerConfig for a new connection: the server KeyStore and, with client
        certificates on, the console's CA and its latest CRL."""
        from ..tls import ServerConfig

        with self._lock:
            next_update = self._crl.crl.next_update_utc
            if next_update is not None and next_update - _utcnow() < datetime.timedelta(
                    days=self.crl_days / 2):
                self._crl = self.ca.crl(validity_days=self.crl_days)
                self._config = None
            if self._config is None:
                options = {}
                if self.client_certificates:
                    options = {"trust": self.trust, "crls": [self._crl],
                               "verify_client": "request"}
                self._config = ServerConfig(certificates=[self.directory.server_keystore],
                                            alpn_protocols=["http/1.1"], groups=GROUPS,
                                            **options)
            return self._config

    def crl_pem(self) -> bytes:
        with self._lock:
            return self._crl.to_pem()

    # --- reading ----------------------------------------------------------------------------

    def records(self) -> list:
        return list(reversed(self.ca.records()))

    def certificate_pem(self, serial: int) -> bytes:
        try:
            return self.ca.issued_certificate(serial).public_bytes(Encoding.PEM)
        except CAError:
            raise RequestError("no certificate with that serial number") from None

    # --- changing ---------------------------------------------------------------------------

    def issue(self, kind: str, names_text: str, validity_days: str, password: bytes):
        """Issue a server or client certificate; returns it and its PKCS#12 bytes."""
        if kind not in ("server", "client"):
            raise RequestError("the kind must be server or client")
        names = [n for n in names_text.replace(",", " ").split() if n]
        if not names:
            raise RequestError("give at least one name")
        if len(names) > MAX_NAMES:
            raise RequestError("at most %d names" % MAX_NAMES)
        if kind == "client" and len(names) != 1:
            raise RequestError("a client certificate has one name (an administrator's)")
        try:
            days = int(validity_days)
        except ValueError:
            raise RequestError("the validity is a whole number of days") from None
        if not 1 <= days <= MAX_VALIDITY_DAYS:
            raise RequestError("the validity is 1 to %d days" % MAX_VALIDITY_DAYS)
        if not password:
            raise RequestError("a KeyStore password is needed to protect the private key")
        try:
            if kind == "server":
                issued = self.ca.issue_server(names, validity_days=days)
            else:
                issued = self.ca.issue_client(names[0], validity_days=days)
            return issued, issued.keystore().to_bytes(password)
        except EngineError as exc:
            raise RequestError(str(exc)) from None

    def revoke(self, serial: int, reason_value: str):
        """Revoke ``serial`` and republish the CRL at once."""
        reason = REASON_BY_VALUE.get(reason_value)
        if reason is None:
            raise RequestError("unknown revocation reason")
        known = {record.serial: record for record in self.ca.records()}
        if serial not in known:
            raise RequestError("no certificate with that serial number")
        if known[serial].revoked is not None:
            raise RequestError("that certificate is already revoked")
        try:
            entry = self.ca.revoke(serial, reason)
            crl = self.ca.crl(validity_days=self.crl_days)
        except CAError as exc:
            raise RequestError(str(exc)) from None
        with self._lock:
            self._crl = crl
            self._config = None
        return entry

    def check(self, data: bytes) -> CheckResult:
        """Verify an uploaded certificate (PEM or DER) against this CA and its CRL."""
        from ..verify import verify_chains

        try:
            if b"-----BEGIN" in data:
                certificate = x509.load_pem_x509_certificate(data)
            else:
                certificate = x509.load_der_x509_certificate(data)
            subject = certificate.subject.rfc4514_string()
            issuer = certificate.issuer.rfc4514_string()
            not_after = certificate.not_valid_after_utc
        except ValueError:
            raise RequestError("the file is not a PEM or DER certificate") from None
        issued_here = certificate.issuer == self.ca.certificate.subject
        purpose = "server"
        try:
            usages = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
            if x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH in usages:
                purpose = "client"
        except (x509.ExtensionNotFound, ValueError):
            pass
        with self._lock:
            crl = self._crl
        verdict = verify_chains([[certificate]], self.trust, crls=[crl], purpose=purpose)[0]
        return CheckResult(subject or "(empty)", format(certificate.serial_number, "x"), issuer,
                           not_after, issued_here, verdict.reason or "valid",
                           verdict.detail)
