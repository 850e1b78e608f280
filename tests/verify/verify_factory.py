"""Certificates, chains and CRLs built directly with cryptography, faults included.

The tests of engine.verify need certificates that no well-behaved CA would issue (a CA:FALSE
intermediate, an issuer without cRLSign, a broken signature...), so this module builds them
field by field. Keys are drawn from a small pool per key type: chains may share key pairs, which
keeps the suite fast (RSA key generation dominates otherwise) and changes nothing in what is
checked, since each certificate still carries its own names and signature.
"""

from __future__ import annotations

import dataclasses
import datetime
import ipaddress
import itertools

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

KEY_TYPES = ("p256", "p384", "ed25519", "rsa2048")

NOW = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
DAY = datetime.timedelta(days=1)

_POOL: dict[str, list] = {}
_POOL_SIZE = 4
_serials = itertools.count(0x1000)


def new_key(key_type: str = "p256"):
    """A key of ``key_type`` from a small rotating pool (generation is the slow part)."""
    pool = _POOL.setdefault(key_type, [])
    if len(pool) < _POOL_SIZE:
        if key_type == "p256":
            key = ec.generate_private_key(ec.SECP256R1())
        elif key_type == "p384":
            key = ec.generate_private_key(ec.SECP384R1())
        elif key_type == "ed25519":
            key = ed25519.Ed25519PrivateKey.generate()
        elif key_type.startswith("rsa"):
            key = rsa.generate_private_key(public_exponent=65537, key_size=int(key_type[3:]))
        else:
            raise ValueError("unknown key type %r" % key_type)
        pool.append(key)
        return key
    key = pool.pop(0)
    pool.append(key)
    return key


def rsa_key(bits: int):
    """An RSA key of ``bits`` bits (for weak-key faults), kept per size."""
    pool = _POOL.setdefault("rsa-%d" % bits, [])
    if not pool:
        pool.append(rsa.generate_private_key(public_exponent=65537, key_size=bits))
    return pool[0]


def fresh_key(key_type: str = "p256"):
    """A key not shared with any other certificate (for 'signed by another key' faults)."""
    saved = _POOL.pop(key_type, None)
    try:
        return new_key(key_type)
    finally:
        if saved is not None:
            _POOL[key_type] = saved
        else:
            _POOL.pop(key_type, None)


def _hash_for(key):
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return None
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.key_size >= 384:
        return hashes.SHA384()
    return hashes.SHA256()


@dataclasses.dataclass
class Node:
    """A certificate with the key that signs for it."""

    certificate: x509.Certificate
    key: object

    @property
    def serial(self) -> int:
        return self.certificate.serial_number


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _general_name(value: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(value))
    except ValueError:
        return x509.DNSName(value)


def make_cert(
    subject_label: str,
    issuer: Node | None,
    *,
    key_type: str = "p256",
    key=None,
    ca: bool = False,
    path_length: int | None = None,
    not_before: datetime.datetime | None = None,
    not_after: datetime.datetime | None = None,
    names: tuple[str, ...] | None = None,
    eku: tuple | None = None,
    key_usage: str | None = "default",
    basic_constraints: bool = True,
    serial: int | None = None,
    sign_with=None,
    corrupt_signature: bool = False,
    eku_critical: bool = False,
    common_name: str | None = None,
    aki: bool = True,
    ski: bool = True,
    extra: tuple = (),
    san_critical: bool = False,
) -> Node:
    """One certificate. ``issuer`` None makes it self-signed.

    ``key_usage``: "default" (keyCertSign+cRLSign for a CA, digitalSignature for a leaf),
    "no_crl_sign" (a CA with keyCertSign only), or None (no keyUsage extension).
    ``sign_with``: sign with this key instead of the issuer's (a bad signature).
    ``corrupt_signature``: flip a bit in the signature value after signing.
    ``common_name``: the leaf's subject CN (default: its first name); ``aki``/``ski``: whether
    to include the key identifiers. ``extra``: (extension, critical) pairs to add;
    ``san_critical``: mark the subjectAltName critical.
    """
    key = key if key is not None else new_key(key_type)
    if not ca and names is None:
        names = ("%s.example.com" % subject_label.lower().replace(" ", "-"),)
    subject = _name(common_name if common_name is not None
                    else (names[0] if not ca and names else subject_label))
    issuer_name = issuer.certificate.subject if issuer else subject
    signer = sign_with if sign_with is not None else (issuer.key if issuer else key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(serial if serial is not None else next(_serials))
        .not_valid_before(not_before or NOW - 30 * DAY)
        .not_valid_after(not_after or NOW + 365 * DAY)
    )
    if basic_constraints:
        builder = builder.add_extension(
            x509.BasicConstraints(ca=ca, path_length=path_length if ca else None), critical=True
        )
    if key_usage is not None:
        if ca:
            crl_sign = key_usage != "no_crl_sign"
            usage = x509.KeyUsage(
                digital_signature=False, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=crl_sign, encipher_only=False, decipher_only=False,
            )
        else:
            usage = x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=False,
                crl_sign=False, encipher_only=False, decipher_only=False,
            )
        builder = builder.add_extension(usage, critical=True)
    if ski:
        builder = builder.add_extension(
            x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
        )
    if issuer is not None and aki:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
            critical=False,
        )
    if ca and eku:
        builder = builder.add_extension(x509.ExtendedKeyUsage(list(eku)), critical=False)
    if not ca:
        if names:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([_general_name(n) for n in names]),
                critical=san_critical,
            )
        if eku is None:
            eku = (ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH)
        if eku:
            builder = builder.add_extension(x509.ExtendedKeyUsage(list(eku)),
                                            critical=eku_critical)
    for extension, critical in extra:
        builder = builder.add_extension(extension, critical=critical)
    certificate = builder.sign(signer, _hash_for(signer))
    if corrupt_signature:
        certificate = _corrupt(certificate)
    return Node(certificate, key)


def _corrupt(certificate: x509.Certificate) -> x509.Certificate:
    """The same certificate with one bit of its signature value flipped."""
    from cryptography.hazmat.primitives.serialization import Encoding

    der = bytearray(certificate.public_bytes(Encoding.DER))
    signature = certificate.signature
    at = bytes(der).rfind(signature)
    der[at + len(signature) // 2] ^= 0x01
    return x509.load_der_x509_certificate(bytes(der))


def make_root(label: str = "Test Root", key_type: str = "p256", **kw) -> Node:
    return make_cert(label, None, key_type=key_type, ca=True, **kw)


def make_intermediate(label: str, issuer: Node, key_type: str = "p256", **kw) -> Node:
    return make_cert(label, issuer, key_type=key_type, ca=True, **kw)


def make_leaf(label: str, issuer: Node, key_type: str = "p256", **kw) -> Node:
    return make_cert(label, issuer, key_type=key_type, ca=False, **kw)


@dataclasses.dataclass
class Chain:
    """A root, the intermediates below it (top first), and a leaf."""

    root: Node
    intermediates: list[Node]
    leaf: Node

    @property
    def presented(self) -> list[x509.Certificate]:  # noqa: D401
        """What a peer sends: the leaf, then the intermediates from the bottom up."""
        return [self.leaf.certificate] + [n.certificate for n in reversed(self.intermediates)]

    @property
    def issuer(self) -> Node:
        return self.intermediates[-1] if self.intermediates else self.root

    @property
    def name(self) -> str:
        san = self.leaf.certificate.extensions.get_extension_for_class(
            x509.SubjectAlternativeName
        ).value
        return str(list(san)[0].value)


def make_chain(depth: int = 2, key_type: str = "p256", root: Node | None = None,
               leaf_kw: dict | None = None) -> Chain:
    """A chain whose built path is ``depth`` certificates long, the root included.

    depth 1 is a leaf issued directly by the root (the path leaf, root);
    depth d has d-1 intermediates.
    """
    root = root or make_root("Root %s" % key_type, key_type=key_type)
    parent, intermediates = root, []
    for level in range(depth - 1):
        node = make_intermediate("Intermediate %s %d" % (key_type, level), parent, key_type)
        intermediates.append(node)
        parent = node
    leaf = make_leaf("leaf-%s-%d" % (key_type, depth), parent, key_type, **(leaf_kw or {}))
    return Chain(root, intermediates, leaf)


def make_crl(
    issuer: Node,
    revoked: tuple = (),
    *,
    this_update: datetime.datetime | None = None,
    next_update: datetime.datetime | None = None,
    sign_with=None,
    crl_number: int | None = 1,
    reason: x509.ReasonFlags | None = x509.ReasonFlags.key_compromise,
) -> x509.CertificateRevocationList:
    """A CRL from ``issuer`` revoking the serials in ``revoked`` (ints or Nodes)."""
    signer = sign_with if sign_with is not None else issuer.key
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.certificate.subject)
        .last_update(this_update or NOW - DAY)
        .next_update(next_update or NOW + 7 * DAY)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
            critical=False,
        )
    )
    if crl_number is not None:
        builder = builder.add_extension(x509.CRLNumber(crl_number), critical=False)
    for item in revoked:
        serial = item.serial if isinstance(item, Node) else int(item)
        entry = (
            x509.RevokedCertificateBuilder()
            .serial_number(serial)
            .revocation_date(NOW - 2 * DAY)
        )
        if reason is not None:
            entry = entry.add_extension(x509.CRLReason(reason), critical=False)
        builder = builder.add_revoked_certificate(entry.build())
    return builder.sign(signer, _hash_for(signer))
