"""The certificates of the whole test session, made by one factory.

Every folder asks the session's :class:`CertificateFactory` (the ``certificates`` fixture of
tests/conftest.py) for its CAs and certificates, so a CA or a key is generated once however
many folders use it; a folder's conftest only arranges them the way its tests read them (its
``pki`` fixture). The factory remembers what it made by what was asked for: the same question
gives the same certificate. A revoked certificate is revoked by its CA at once, so a CRL made
after it (``ca.crl()``) lists it.

What the tests read from the CAs: a root and an issuing CA under it, a root nobody trusts
(:data:`STRANGER`), server certificates for :data:`LOCAL_NAMES`.
"""

from __future__ import annotations

import dataclasses
import datetime

from cryptography.hazmat.primitives import serialization

from engine.pki import CertificateAuthority

ROOT = "Engine Test Root CA"
ISSUER = "Engine Test Issuing CA"
STRANGER = "Stranger Root CA"
LOCAL_NAMES = ("localhost", "127.0.0.1")
KEY_TYPES = ("p256", "p384", "ed25519", "rsa2048")


class CertificateFactory:
    """CAs and certificates, each made once per session (see the module's docstring)."""

    def __init__(self):
        self._made: dict = {}

    def _once(self, key, make):
        found = self._made.get(key)
        if found is None:
            found = self._made[key] = make()
        return found

    # --- certificate authorities ------------------------------------------------------------

    def ca(self, name: str = ROOT, *, key_type: str = "p256",
           parent: str | None = None) -> CertificateAuthority:
        """A root CA, or an intermediate under the CA named ``parent``."""
        if parent is None:
            return self._once(("ca", name, key_type, None),
                              lambda: CertificateAuthority.create_root(name, key_type=key_type))
        above = self.ca(parent)
        return self._once(("ca", name, key_type, parent),
                          lambda: above.create_intermediate(name, key_type=key_type))

    @property
    def root(self) -> CertificateAuthority:
        return self.ca(ROOT)

    @property
    def issuer(self) -> CertificateAuthority:
        """The issuing CA under :attr:`root` that signs most certificates of the tests."""
        return self.ca(ISSUER, parent=ROOT)

    @property
    def stranger(self) -> CertificateAuthority:
        """A root CA that no trust store of the tests holds."""
        return self.ca(STRANGER)

    # --- end-entity certificates --------------------------------------------------------------

    def server(self, ca: CertificateAuthority | None = None, names=LOCAL_NAMES, *,
               key_type: str = "p256", revoked: bool = False, expired: bool = False):
        """An IssuedCertificate of ``ca`` (default: the issuing CA) for ``names``."""
        ca = self.issuer if ca is None else ca
        names = tuple(names)

        def make():
            validity = {}
            if expired:
                now = datetime.datetime.now(datetime.timezone.utc)
                validity = dict(not_before=now - datetime.timedelta(days=30),
                                not_after=now - datetime.timedelta(days=1))
            issued = ca.issue_server(list(names), key_type=key_type, **validity)
            if revoked:
                ca.revoke(issued.serial_number)
            return issued

        return self._once(("server", id(ca), names, key_type, revoked, expired), make)

    def client(self, name: str = "alice", ca: CertificateAuthority | None = None, *,
               key_type: str = "p256", revoked: bool = False):
        """An IssuedCertificate of ``ca`` (default: the issuing CA) for a client ``name``."""
        ca = self.issuer if ca is None else ca

        def make():
            issued = ca.issue_client(name, key_type=key_type)
            if revoked:
                ca.revoke(issued.serial_number)
            return issued

        return self._once(("client", id(ca), name, key_type, revoked), make)


class SmallPKI:
    """A root, its issuing CA, the trust store of the root and one server certificate (an
    IssuedCertificate) with its chain as DER: what the tests of one module at a time need."""

    def __init__(self, certificates: CertificateFactory):
        from engine.pki import TrustStore

        self.root = certificates.root
        self.issuer = certificates.issuer
        self.trust = TrustStore([self.root.certificate])
        self.server = certificates.server()
        self.chain = [self.server.certificate.public_bytes(serialization.Encoding.DER),
                      self.issuer.certificate.public_bytes(serialization.Encoding.DER)]


# --- on disk ----------------------------------------------------------------------------------


def pem(*certificates) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certificates)


def key_pem(private_key) -> bytes:
    """A private key as unencrypted PKCS#8 PEM."""
    return private_key.private_bytes(serialization.Encoding.PEM,
                                     serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption())


def write(path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)


@dataclasses.dataclass
class Identity:
    """A certificate with its key, in memory (KeyStore) and on disk (PEM files)."""

    keystore: object
    cert_path: str  # leaf then intermediates
    key_path: str  # PKCS#8, unencrypted
    chain_path: str | None  # the intermediates alone (None if issued by a root)

    @classmethod
    def written(cls, directory, name: str, issued) -> "Identity":
        """``issued`` (an IssuedCertificate) as ``name``.crt, .key and .chain in ``directory``."""
        extra = pem(*issued.chain[1:])
        return cls(issued.keystore(), write(directory / ("%s.crt" % name), pem(*issued.chain)),
                   write(directory / ("%s.key" % name), key_pem(issued.private_key)),
                   write(directory / ("%s.chain" % name), extra) if extra else None)

    def openssl_args(self) -> list:
        """-cert/-key (and -cert_chain) options for openssl s_server and s_client."""
        args = ["-cert", self.cert_path, "-key", self.key_path]
        if self.chain_path:
            args += ["-cert_chain", self.chain_path]
        return args

    @property
    def certificate(self):
        return self.keystore.certificate
