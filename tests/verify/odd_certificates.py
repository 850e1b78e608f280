"""Certificates that pyca/cryptography parses only in part, raising exceptions that are not
ValueErrors (InvalidVersion, DuplicateExtension, UnsupportedAlgorithm) or holding an
iPAddress subjectAltName that is a network: each made by editing the DER of a well-formed
certificate, so that the rest of it stays as a CA would issue it."""

from __future__ import annotations

import datetime
import ipaddress

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

NOW = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
_DAY = datetime.timedelta(days=1)


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def issuer():
    """A self-signed CA and its key, the issuer of every odd certificate."""
    key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(_name("Odd Root")).issuer_name(_name("Odd Root"))
          .public_key(key.public_key()).serial_number(1)
          .not_valid_before(NOW - _DAY).not_valid_after(NOW + 30 * _DAY)
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
          .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                       False), True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
          .sign(key, hashes.SHA256()))
    return ca, key


def _leaf(ca, ca_key, names, extra=()):
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (x509.CertificateBuilder().subject_name(_name("odd.example.com"))
               .issuer_name(ca.subject).public_key(key.public_key()).serial_number(77)
               .not_valid_before(NOW - _DAY).not_valid_after(NOW + 10 * _DAY)
               .add_extension(x509.SubjectAlternativeName(names), False)
               .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                   ca_key.public_key()), False))
    for extension in extra:
        builder = builder.add_extension(extension, False)
    return builder.sign(ca_key, hashes.SHA256()), key


def _edit(der: bytes, old: bytes, new: bytes) -> bytes:
    assert der.count(old) >= 1 and len(old) == len(new)
    return der.replace(old, new, 1)


def odd(kind: str, ca, ca_key) -> tuple[bytes, object]:
    """(DER, private key) of an odd leaf issued by ``ca``: "invalid-version",
    "duplicate-extension", "unsupported-algorithm" or "ip-network-san"."""
    dns = [x509.DNSName("odd.example.com")]
    if kind == "ip-network-san":
        cert, key = _leaf(ca, ca_key, dns + [x509.IPAddress(ipaddress.ip_network("10.0.0.0/8"))])
        return cert.public_bytes(Encoding.DER), key
    if kind == "duplicate-extension":  # an issuerAltName renamed subjectAltName
        cert, key = _leaf(ca, ca_key, dns, extra=[x509.IssuerAlternativeName(dns)])
        der = cert.public_bytes(Encoding.DER)
        return _edit(der, bytes.fromhex("0603551d12"), bytes.fromhex("0603551d11")), key
    cert, key = _leaf(ca, ca_key, dns)
    der = cert.public_bytes(Encoding.DER)
    if kind == "invalid-version":  # [0] EXPLICIT INTEGER 2 (v3) made 3
        return _edit(der, bytes.fromhex("a003020102"), bytes.fromhex("a003020103")), key
    if kind == "unsupported-algorithm":  # id-ecPublicKey made an unknown OID
        return _edit(der, bytes.fromhex("06072a8648ce3d0201"),
                     bytes.fromhex("06072a8648ce3d0209")), key
    raise ValueError(kind)


KINDS = ("invalid-version", "duplicate-extension", "unsupported-algorithm", "ip-network-san")
