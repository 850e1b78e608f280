"""A certificate authority kept in a directory, safe against crashes and concurrent commands.

Layout of a CA directory::

    ca.p12          the CA key and certificate, a password-protected KeyStore
    ca.pem          the CA certificate
    crl.pem         the latest CRL
    issued/<serial>.pem   every certificate issued (serial in lower-case hexadecimal)
    index.json      issued and revoked serials and the next CRL number: the record of truth
    .lock           held (flock) by each command for the whole of its read-modify-write

Every file is replaced atomically, and ``index.json`` is always written last: a command that dies
midway leaves the index as it was. Issuing writes, in this order, the CA's own copy in
``issued/``, then the new key and certificate where the caller wants them (``deliver``), then the
index: a command that dies before its commit leaves at worst a certificate in ``issued/`` that
the index does not list yet, and the next command records it (it may have reached its owner, so
it must stay listed and revocable). The lock keeps two commands from both reading the old index
and one of them losing the other's serial; under it, the temporary files of a killed command are
removed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import json
import os

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .._locking import lock_exclusive
from .._fsutil import atomic_write, create_new, fsync_directory, remove_stale_temporaries
from ..errors import CAError, CRLError, KeyStoreError
from .ca import CertificateAuthority, IssuedCertificate, utcnow
from .certfile import read_certificates
from .crl import RevocationList, RevokedEntry
from .keys import DEFAULT_KEY_TYPE, generate_private_key
from .keystore import KeyStore

INDEX = "index.json"
CA_KEYSTORE = "ca.p12"
CA_CERTIFICATE = "ca.pem"
CRL = "crl.pem"
ISSUED = "issued"
LOCK = ".lock"
FORMAT = 1
_OWN_NAMES = {INDEX, CA_KEYSTORE, CA_CERTIFICATE, CRL, ISSUED}


def serial_text(serial: int) -> str:
    """How serial numbers are written in the directory and shown to users: lower-case hex."""
    return format(serial, "x")


def parse_serial(text: str) -> int:
    """A serial number from hex as :func:`serial_text` writes it (``0x`` and colons allowed)."""
    cleaned = text.strip().lower().replace(":", "")
    if cleaned.startswith("0x"):
        cleaned = cleaned[2:]
    try:
        serial = int(cleaned, 16)
    except ValueError:
        raise CAError("%r is not a hexadecimal serial number" % text) from None
    if serial <= 0:
        raise CAError("a serial number must be positive")
    return serial


@dataclasses.dataclass(frozen=True)
class CARecord:
    """One certificate the directory's CA issued, and its revocation if any."""

    serial: int
    subject: str
    kind: str  # "server" or "client"
    names: tuple
    not_after: datetime.datetime
    issued_at: datetime.datetime
    revoked: RevokedEntry | None = None


def _iso(when: datetime.datetime) -> str:
    return when.astimezone(datetime.timezone.utc).isoformat()


def _time(text: str) -> datetime.datetime:
    """A time as _iso writes it; ValueError without its zone (it could not be compared)."""
    when = datetime.datetime.fromisoformat(text)
    if when.tzinfo is None:
        raise ValueError("a time without its zone")
    return when


def _index_serial(text: str) -> int:
    """A serial number as index.json records it; ValueError unless RFC 5280 4.1.2.2 allows it
    (positive, at most 20 octets: cryptography takes up to 159 bits)."""
    serial = int(text, 16)
    if not 0 < serial < 1 << 159:
        raise ValueError("serial number out of range")
    return serial


class CADirectory:
    """A root CA on disk. Make one with :meth:`init`, use one with :meth:`open`."""

    def __init__(self, path: str, keystore: KeyStore | None, certificate: x509.Certificate):
        self.path = path
        self.keystore = keystore  # None when opened without the password: read-only
        self.certificate = certificate

    def _file(self, *names: str) -> str:
        return os.path.join(self.path, *names)

    # --- making and opening -------------------------------------------------------------

    @classmethod
    def init(cls, path, common_name: str, key_type: str = DEFAULT_KEY_TYPE, password=None, *,
             validity_days: float = 3650, crl_days: float = 7, kdf_rounds: int | None = None):
        """Create a new root CA in ``path`` (made if missing; must not already hold a CA)."""
        path = os.fspath(path)
        if not password:
            raise CAError("the CA password must not be empty")
        if os.path.isdir(path):
            strangers = [name for name in os.listdir(path)
                         if name not in _OWN_NAMES and not name.startswith(".")]
            if strangers:
                raise CAError("%s is not empty (it holds %s); a CA needs a directory of its own"
                              % (path, strangers[0]))
        if os.path.exists(os.path.join(path, INDEX)):
            raise CAError("%s already holds a CA (index.json exists)" % path)
        authority = CertificateAuthority.create_root(  # checks the name, key type and days
            common_name, key_type=key_type, validity_days=validity_days)
        try:
            os.makedirs(os.path.join(path, ISSUED), exist_ok=True)
        except OSError as exc:
            raise CAError("cannot create CA directory %s: %s" % (path, exc.strerror)) from None
        fsync_directory(path)
        fsync_directory(os.path.dirname(os.path.abspath(path)))
        with _locked(path):
            if os.path.exists(os.path.join(path, INDEX)):  # made by a command running meanwhile
                raise CAError("%s already holds a CA (index.json exists)" % path)
            keystore = KeyStore(authority.private_key, authority.certificate)
            directory = cls(path, keystore, authority.certificate)
            try:
                keystore.save(directory._file(CA_KEYSTORE), password, kdf_rounds=kdf_rounds)
            except KeyStoreError as exc:
                raise CAError(str(exc)) from None
            directory._write(CA_CERTIFICATE, authority.certificate.public_bytes(Encoding.PEM))
            crl = authority.crl(validity_days=crl_days)
            directory._write(CRL, crl.to_pem())
            directory._write_index({
                "format": FORMAT,
                "ca": {"subject": authority.certificate.subject.rfc4514_string(),
                       "serial": serial_text(authority.certificate.serial_number)},
                "next_crl_number": authority.next_crl_number,
                "issued": {},
                "revoked": {},
            })
        return directory

    @classmethod
    def open(cls, path, password=None):
        """Open the CA in ``path``; CAError if it is not a CA directory or the password is wrong.

        Without a password the directory can be read (records, CRL) but not changed.
        """
        path = os.fspath(path)
        if not os.path.isfile(os.path.join(path, INDEX)):
            raise CAError("%s is not a CA directory (no index.json); create one with init" % path)
        if password is None:
            keystore = None
            name = os.path.join(path, CA_CERTIFICATE)
            try:
                with open(name, "rb") as fh:
                    certificate = read_certificates(fh.read(), name)[0]
            except OSError as exc:
                raise CAError("cannot read %s: %s" % (name, exc.strerror)) from None
            except ValueError:  # CertificateError included
                raise CAError("%s is damaged" % name) from None
        else:
            try:
                keystore = KeyStore.load(os.path.join(path, CA_KEYSTORE), password)
            except KeyStoreError as exc:
                raise CAError("cannot open the CA key: %s" % exc) from None
            certificate = keystore.certificate
        directory = cls(path, keystore, certificate)
        index = directory._read_index()  # fail early on a damaged index
        recorded = index.get("ca", {}).get("serial") if isinstance(index.get("ca"), dict) else None
        if recorded != serial_text(certificate.serial_number):
            raise CAError("%s: the CA certificate is not the one index.json was made for" % path)
        return directory

    # --- reading ------------------------------------------------------------------------

    def _read_index(self) -> dict:
        name = self._file(INDEX)
        try:
            with open(name, "rb") as fh:
                index = json.loads(fh.read())
        except OSError as exc:
            raise CAError("cannot read %s: %s" % (name, exc.strerror)) from None
        except (ValueError, RecursionError):
            raise CAError("%s is damaged (not JSON)" % name) from None
        if not isinstance(index, dict) or index.get("format") != FORMAT or not all(
                isinstance(index.get(k), dict) for k in ("issued", "revoked")) or not isinstance(
                index.get("next_crl_number"), int):
            raise CAError("%s is not an index this version understands" % name)
        return index

    def _authority(self, index: dict) -> CertificateAuthority:
        if self.keystore is None:
            raise CAError("%s was opened without the CA password: it cannot be changed" % self.path)
        revoked = [self._revocation(serial, entry) for serial, entry in index["revoked"].items()]
        return CertificateAuthority(self.keystore.private_key, self.keystore.certificate,
                                    revoked=revoked, next_crl_number=index["next_crl_number"])

    def _revocation(self, serial: str, entry) -> RevokedEntry:
        """The revocation recorded in index.json for ``serial``; CAError if it is damaged."""
        try:
            reason = entry.get("reason")
            return RevokedEntry(_index_serial(serial), _time(entry["date"]),
                                x509.ReasonFlags(reason) if reason else None)
        except (KeyError, ValueError, TypeError, AttributeError):
            raise CAError("%s has a damaged revocation entry for serial %r"
                          % (self._file(INDEX), serial)) from None

    def records(self) -> list:
        """Every certificate issued, oldest first, with its revocation if any."""
        index = self._read_index()
        self._adopt(index)
        records = [self._record(serial, entry, index["revoked"].get(serial))
                   for serial, entry in index["issued"].items()]
        records.sort(key=lambda r: (r.issued_at, r.serial))
        return records

    def _record(self, serial: str, entry, gone) -> CARecord:
        """The CARecord of one index.json entry; CAError naming index.json if it is damaged."""
        try:
            subject, kind, names = entry["subject"], entry["kind"], entry["names"]
            if not (isinstance(subject, str) and kind in ("server", "client")
                    and isinstance(names, list) and all(isinstance(n, str) for n in names)):
                raise TypeError("wrong types")
            record = CARecord(_index_serial(serial), subject, kind, tuple(names),
                              _time(entry["not_after"]), _time(entry["issued_at"]))
        except (KeyError, ValueError, TypeError, AttributeError):
            raise CAError("%s has a damaged entry for serial %r" % (self._file(INDEX), serial)) \
                from None
        if gone is None:
            return record
        return dataclasses.replace(record, revoked=self._revocation(serial, gone))

    def issued_certificate(self, serial: int) -> x509.Certificate:
        name = self._file(ISSUED, serial_text(serial) + ".pem")
        try:
            with open(name, "rb") as fh:
                return read_certificates(fh.read(), name)[0]
        except OSError:
            raise CAError("no certificate with serial %s in %s" % (serial_text(serial), self.path)) \
                from None
        except ValueError:
            raise CAError("%s is damaged" % name) from None

    def current_crl(self) -> RevocationList:
        try:
            return RevocationList.load(self._file(CRL))
        except CRLError as exc:
            raise CAError(str(exc)) from None

    # --- changing -----------------------------------------------------------------------

    def issue_server(self, names, key_type: str = DEFAULT_KEY_TYPE, validity_days: float = 90,
                     *, deliver=None, **options) -> IssuedCertificate:
        """A server certificate (see :meth:`CertificateAuthority.issue_server`), recorded.

        ``deliver(issued)``, if given, saves the key and certificate before the index records
        them; if it raises, nothing is recorded and the error goes on.
        """
        names = [names] if isinstance(names, str) else list(names)
        key = options.pop("private_key", None) or generate_private_key(key_type)
        return self._issue("server", names, lambda ca: ca.issue_server(
            names, validity_days=validity_days, private_key=key, **options), deliver)

    def issue_client(self, name: str, key_type: str = DEFAULT_KEY_TYPE, validity_days: float = 90,
                     *, deliver=None, **options) -> IssuedCertificate:
        """A client certificate (see :meth:`CertificateAuthority.issue_client`), recorded;
        ``deliver`` as for :meth:`issue_server`."""
        key = options.pop("private_key", None) or generate_private_key(key_type)
        return self._issue("client", [name], lambda ca: ca.issue_client(
            name, validity_days=validity_days, private_key=key, **options), deliver)

    def _issue(self, kind: str, names: list, make, deliver) -> IssuedCertificate:
        # The key is made before the lock is taken (an RSA key can take seconds); the signing
        # and the writes, in the order the module docstring gives, happen under it.
        with self._changing() as index:
            issued = make(self._authority(index))
            certificate = issued.certificate
            serial = serial_text(certificate.serial_number)
            if serial in index["issued"]:  # 2^-126: still, never overwrite a record
                raise CAError("serial %s was already issued; try again" % serial)
            own_copy = self._file(ISSUED, serial + ".pem")
            try:
                create_new(own_copy, certificate.public_bytes(Encoding.PEM))
            except OSError as exc:
                raise CAError("cannot write %s: %s" % (own_copy, exc.strerror)) from None
            delivered = False
            try:
                if deliver is not None:
                    deliver(issued)
                    delivered = True
                index["issued"][serial] = _entry(certificate, kind, names, utcnow())
                self._write_index(index)
            except BaseException:
                if not delivered:  # nothing went out: nothing to record
                    _unlink(own_copy)
                raise  # else the next command records it (_adopt)
        return issued

    @contextlib.contextmanager
    def _changing(self):
        """The lock held, stale temporary files gone, and the index with every certificate
        of ``issued/`` recorded: what each command that changes the directory starts from."""
        with _locked(self.path):
            remove_stale_temporaries(self.path)
            remove_stale_temporaries(self._file(ISSUED))
            index = self._read_index()
            self._adopt(index)
            yield index

    def _adopt(self, index: dict) -> None:
        """Add to ``index`` the certificates in ``issued/`` that it does not list: each was
        signed by this CA in a command that died before writing the index."""
        try:
            names = os.listdir(self._file(ISSUED))
        except OSError:
            return
        issued = index["issued"]
        for name in names:
            serial = name[:-4]
            if not name.endswith(".pem") or serial in issued:
                continue
            certificate = self._own_certificate(serial)
            if certificate is None:
                continue
            try:
                written = os.stat(self._file(ISSUED, name)).st_mtime
            except OSError:
                continue
            issued_at = datetime.datetime.fromtimestamp(written, datetime.timezone.utc)
            issued[serial] = _entry(certificate, *_kind_and_names(certificate), issued_at)

    def _own_certificate(self, serial: str) -> x509.Certificate | None:
        """The certificate ``issued/<serial>.pem`` if this CA signed it, else None."""
        try:
            if serial != serial_text(_index_serial(serial)):
                return None
            with open(self._file(ISSUED, serial + ".pem"), "rb") as fh:
                certificate = x509.load_pem_x509_certificate(fh.read())
            if serial_text(certificate.serial_number) != serial:
                return None
            certificate.verify_directly_issued_by(self.certificate)
        except Exception:  # unreadable, not a certificate, or not signed by this CA
            return None
        return certificate

    def revoke(self, serial: int, reason: x509.ReasonFlags | None = x509.ReasonFlags.unspecified,
               revocation_date: datetime.datetime | None = None) -> RevokedEntry:
        """Record ``serial`` as revoked; it is on every CRL made from now on."""
        with self._changing() as index:
            key = serial_text(serial)
            if key not in index["issued"]:
                raise CAError("serial %s was not issued by this CA" % key)
            entry = self._authority(index).revoke(serial, reason, revocation_date)
            index["revoked"][key] = {
                "reason": entry.reason.value if entry.reason is not None else None,
                "date": _iso(entry.revocation_date),
            }
            self._write_index(index)
        return entry

    def crl(self, validity_days: float = 7) -> RevocationList:
        """Sign a new CRL of every revocation, write it to crl.pem, and return it."""
        with self._changing() as index:
            authority = self._authority(index)
            try:  # a crash after crl.pem but before the index must not reuse that CRL's number
                last = RevocationList.load(self._file(CRL)).crl_number or 0
            except CRLError:
                last = 0
            authority.next_crl_number = max(authority.next_crl_number, last + 1)
            crl = authority.crl(validity_days=validity_days)
            self._write(CRL, crl.to_pem())
            index["next_crl_number"] = authority.next_crl_number
            self._write_index(index)
        return crl

    # --- writing ------------------------------------------------------------------------

    def _write(self, name: str, data: bytes, mode: int = 0o644) -> None:
        path = self._file(name)
        try:
            atomic_write(path, data, mode)
        except OSError as exc:
            raise CAError("cannot write %s: %s" % (path, exc.strerror)) from None

    def _write_index(self, index: dict) -> None:
        self._write(INDEX, (json.dumps(index, indent=1, sort_keys=True) + "\n").encode())


def _entry(certificate: x509.Certificate, kind: str, names: list,
           issued_at: datetime.datetime) -> dict:
    """The index.json record of an issued certificate."""
    return {
        "subject": certificate.subject.rfc4514_string(),
        "kind": kind,
        "names": list(names),
        "not_after": _iso(certificate.not_valid_after_utc),
        "issued_at": _iso(issued_at),
    }


def _kind_and_names(certificate: x509.Certificate) -> tuple[str, list[str]]:
    """("server", SAN names) or ("client", [common name]), read back from a certificate."""
    try:
        usages: x509.ExtendedKeyUsage | tuple[()] = certificate.extensions.get_extension_for_class(
            x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        usages = ()
    if ExtendedKeyUsageOID.CLIENT_AUTH in usages and ExtendedKeyUsageOID.SERVER_AUTH not in usages:
        names = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        return "client", [str(names[0].value)] if names else []
    try:
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return "server", []
    return "server", (san.get_values_for_type(x509.DNSName)
                      + [str(a) for a in san.get_values_for_type(x509.IPAddress)])


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


@contextlib.contextmanager
def _locked(path: str):
    """Hold the directory's exclusive lock (blocking until other commands release it)."""
    try:
        fd = os.open(os.path.join(path, LOCK), os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise CAError("cannot lock CA directory %s: %s" % (path, exc.strerror)) from None
    try:
        lock_exclusive(fd)
        yield
    finally:
        os.close(fd)  # closing releases the lock
