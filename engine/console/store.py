"""The console's directory: its CA, its server KeyStore, its administrators and its audit log.

Layout::

    ca/           the console's CA (an engine.pki.CADirectory: ca.p12, ca.pem, crl.pem...)
    server.p12    the console's server certificate and key, a password-protected KeyStore
    admins        the administrators, name:bcrypt-hash lines (engine.auth.PasswordFile)
    audit.log     the audit log, one JSON object per line (append-only)

One password protects both KeyStores: the console asks for it once when it starts and keeps
only what it unlocked. Every file is written atomically (engine._fsutil); nothing is written
outside the directory.
"""

from __future__ import annotations

import datetime
import os

from ..auth import PasswordFile
from ..auth import _check_name as check_user_name
from ..errors import CAError, EngineError, KeyStoreError
from ..pki import CADirectory, KeyStore
from .audit import AuditLog

CA_DIR = "ca"
SERVER_KEYSTORE = "server.p12"
ADMINS = "admins"
AUDIT_LOG = "audit.log"
SERVER_NAMES = ("admin.localhost", "localhost", "127.0.0.1", "::1")
CA_NAME = "engine console CA"
SERVER_DAYS = 90
RENEW_BEFORE = datetime.timedelta(days=14)


class ConsoleError(EngineError):
    """The console directory cannot be made or used as asked."""


def _utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


class ConsoleDirectory:
    """An opened console directory. Make one with :meth:`init`, open it with :meth:`open`."""

    def __init__(self, path: str, ca: CADirectory, server_keystore: KeyStore,
                 accounts: PasswordFile, audit: AuditLog):
        self.path = path
        self.ca = ca
        self.server_keystore = server_keystore
        self.accounts = accounts
        self.audit = audit

    @property
    def ca_certificate_path(self) -> str:
        return os.path.join(self.path, CA_DIR, "ca.pem")

    @classmethod
    def init(cls, path, password: bytes, admin: str, admin_password: bytes, *,
             names=SERVER_NAMES, bcrypt_rounds: int = 12, kdf_rounds: int | None = None):
        """Create the CA, the server certificate for ``names`` and the first administrator."""
        path = os.path.abspath(os.fspath(path))
        if os.path.exists(os.path.join(path, CA_DIR)) or os.path.exists(
                os.path.join(path, ADMINS)):
            raise ConsoleError("%s already holds a console; run it with: engine console run %s"
                               % (path, path))
        if os.path.isdir(path) and [n for n in os.listdir(path) if not n.startswith(".")]:
            raise ConsoleError("%s is not empty; a console needs a directory of its own" % path)
        accounts = PasswordFile(os.path.join(path, ADMINS), rounds=bcrypt_rounds)
        try:
            check_user_name(admin)  # before anything is written
            os.makedirs(path, exist_ok=True)
            ca = CADirectory.init(os.path.join(path, CA_DIR), CA_NAME, password=password,
                                  kdf_rounds=kdf_rounds)
            server = ca.issue_server(list(names), validity_days=SERVER_DAYS)
            server.keystore().save(os.path.join(path, SERVER_KEYSTORE), password,
                                   kdf_rounds=kdf_rounds)
            accounts.add(admin, admin_password)
        except OSError as exc:
            raise ConsoleError("cannot create %s: %s" % (path, exc.strerror)) from None
        audit = AuditLog(os.path.join(path, AUDIT_LOG))
        audit.record(admin, "console created", serial=format(server.serial_number, "x"))
        return cls(path, ca, server.keystore(), accounts, audit)

    @staticmethod
    def check(path) -> str:
        """The absolute path of a console directory; ConsoleError if ``path`` is none."""
        path = os.path.abspath(os.fspath(path))
        if not os.path.isdir(os.path.join(path, CA_DIR)):
            raise ConsoleError("%s is not a console directory; create one with: "
                               "engine console init %s" % (path, path))
        return path

    @classmethod
    def open(cls, path, password: bytes, *, kdf_rounds: int | None = None):
        """Open a console directory with its password; the server certificate is renewed when
        it is within two weeks of its end."""
        path = cls.check(path)
        try:
            ca = CADirectory.open(os.path.join(path, CA_DIR), password)
        except CAError as exc:
            raise ConsoleError(str(exc)) from None
        keystore_path = os.path.join(path, SERVER_KEYSTORE)
        try:
            keystore = KeyStore.load(keystore_path, password)
        except KeyStoreError as exc:
            raise ConsoleError(str(exc)) from None
        audit = AuditLog(os.path.join(path, AUDIT_LOG))
        if keystore.certificate.not_valid_after_utc - _utcnow() < RENEW_BEFORE:
            names = _names_of(keystore.certificate) or list(SERVER_NAMES)
            issued = ca.issue_server(names, validity_days=SERVER_DAYS)
            keystore = issued.keystore()
            keystore.save(keystore_path, password, kdf_rounds=kdf_rounds)
            audit.record(None, "server certificate renewed",
                         serial=format(issued.serial_number, "x"))
        return cls(path, ca, keystore, PasswordFile(os.path.join(path, ADMINS)), audit)


def _names_of(certificate) -> list:
    from cryptography import x509

    try:
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return [str(n) for n in san.get_values_for_type(x509.DNSName)] + [
        str(a) for a in san.get_values_for_type(x509.IPAddress)]
