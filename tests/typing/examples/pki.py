"""A CA, a server certificate saved as a KeyStore, trust and a CRL, as README's "Using it"."""

from __future__ import annotations

import datetime

from cryptography import x509

import engine
from engine.pki import CertificateAuthority, KeyStore, RevocationList, TrustStore

ca: CertificateAuthority = CertificateAuthority.create_root("Example Root CA")
issuing: CertificateAuthority = ca.create_intermediate("Example Issuing CA")
issued = issuing.issue_server(["localhost", "127.0.0.1"])
leaf: x509.Certificate = issued.certificate
chain: list[x509.Certificate] = issued.chain
keystore: KeyStore = issued.keystore()
keystore.save("server.p12", b"correct horse")
loaded: KeyStore = engine.KeyStore.load("server.p12", b"correct horse")
from_pem: KeyStore = KeyStore.from_pem("server.crt", "server.key", password=lambda: "secret")

trust = TrustStore([ca.certificate])
trust.add(issuing.certificate)
anchors: list[x509.Certificate] = trust.certificates
system: TrustStore = TrustStore.system()
source: str | None = system.source
pem: bytes = trust.to_pem()

crl: RevocationList = issuing.crl()
issuing.revoke(leaf.serial_number)
next_update: datetime.datetime | None = issuing.crl().next_update
reloaded: RevocationList = RevocationList.from_bytes(crl.to_pem())
