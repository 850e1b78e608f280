"""The project's own certificate rules, applied the same way whichever backend verifies.

Both backends call :func:`before` on the presented chain and :func:`after` on the built path.
Each rule lives here once. Helpers for names (RFC 6125 matching of a reference name against the
leaf's subjectAltName) are shared too.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import socket

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .cache import BoundedCache
from .inputs import quiet

_CURVES = ("secp256r1", "secp384r1", "secp521r1")

_DER, _SPKI = Encoding.DER, PublicFormat.SubjectPublicKeyInfo


@dataclasses.dataclass(frozen=True)
class Fault:
    reason: str
    detail: str
    depth: int | None


def leaf_names(leaf: x509.Certificate) -> list[x509.GeneralName]:
    """The leaf's subjectAltName entries (empty when it has none or it cannot be read)."""
    try:
        return list(leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)
    except (x509.ExtensionNotFound, ValueError, TypeError):
        return []


def bad_address(leaf: x509.Certificate) -> bool:
    """Whether an iPAddress subjectAltName of the leaf is a network rather than an address
    (RFC 5280 4.2.1.6: 8 or 32 octets belong in name constraints only), or the
    subjectAltName cannot be read."""
    try:
        names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    except (ValueError, TypeError):
        return True
    return any(isinstance(n, x509.IPAddress) and not isinstance(
        n.value, (ipaddress.IPv4Address, ipaddress.IPv6Address)) for n in names)


def key_unsupported(certificate: x509.Certificate) -> bool:
    """Whether cryptography cannot load the certificate's public key at all."""
    try:
        certificate.public_key()
    except UnsupportedAlgorithm:
        return True
    except (ValueError, TypeError):
        return False
    return False


def is_ca(certificate: x509.Certificate) -> bool:
    try:
        return certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except (x509.ExtensionNotFound, ValueError, TypeError):
        return False


def dns_name_valid(name: str) -> bool:
    """A DNS subjectAltName in preferred name syntax (RFC 1034 3.5, RFC 5280 4.2.1.6), a
    wildcard allowed only as the whole left-most label: letters, digits and hyphens, labels of
    1 to 63, at most 253 in all. csrc/engine_verify.c applies the same rule."""
    if not 0 < len(name) <= 253:
        return False
    body = name[2:] if name.startswith("*.") else name
    for label in body.split("."):
        if not 0 < len(label) <= 63 or label[0] == "-" or label[-1] == "-":
            return False
        if not all(c.isascii() and (c.isalnum() or c == "-") for c in label):
            return False
    return True


def _dns_matches(pattern: str, name: str) -> bool:
    """RFC 6125 6.4: exact match, or a whole-label wildcard in the left-most label only."""
    pattern, name = pattern.lower().rstrip("."), name.lower().rstrip(".")
    if pattern == name:
        return True
    if not pattern.startswith("*."):
        return False
    rest = pattern[2:]
    head, _, tail = name.partition(".")
    return bool(head) and tail == rest and "*" not in rest and rest.count(".") >= 1


def name_matches(leaf: x509.Certificate, name: str) -> bool:
    """Whether ``name`` (a DNS name or an IP address) is one of the leaf's subjectAltNames."""
    try:
        address = ipaddress.ip_address(name)
    except (ValueError, TypeError):
        address = None
    for general_name in leaf_names(leaf):
        if address is not None and isinstance(general_name, x509.IPAddress):
            if general_name.value == address:
                return True
        elif address is None and isinstance(general_name, x509.DNSName):
            if _dns_matches(general_name.value, name):
                return True
    return False


# More presented certificates than this sharing one subject and one key make path building
# explode combinatorially (each can stand for any other); no real chain needs so many.
MAX_INTERCHANGEABLE = 8


# OpenSSL refuses a name-constraints check of more than 2**20 (name, constraint) pairs; the
# same bound keeps the Python verifier from spending seconds on such a certificate.
NAME_CHECK_MAX = 1 << 20


def _constraint_count(certificate) -> int:
    try:
        constraints = _extension(certificate, x509.NameConstraints)
    except (ValueError, TypeError):
        return 0
    if constraints is None:
        return 0
    value = constraints.value
    return len(value.permitted_subtrees or ()) + len(value.excluded_subtrees or ())


def before(leaf, intermediates, *, purpose: str, name: str | None, anchors=()) -> Fault | None:
    """Checks on the presented chain, before any path is built: bounds on the work it may
    cause (certificates that can stand for each other, names times name constraints)."""
    issuers = {c.issuer for c in [leaf, *intermediates]}
    cas = list(intermediates) + [a for a in anchors if a.subject in issuers]
    most = max((_constraint_count(c) for c in cas), default=0)
    if most:
        try:
            names = len(leaf.subject) + len(leaf_names(leaf))
        except (ValueError, TypeError):
            names = 0
        if names * most > NAME_CHECK_MAX:
            return Fault("unsupported", "%d names against %d name constraints exceed the check "
                         "limit of %d pairs" % (names, most, NAME_CHECK_MAX), 0)
    if len(intermediates) > MAX_INTERCHANGEABLE:
        groups: dict = {}
        for certificate in intermediates:
            try:
                key = (certificate.subject.public_bytes(),
                       certificate.public_key().public_bytes(_DER, _SPKI))
            except (ValueError, TypeError):
                continue
            groups[key] = groups.get(key, 0) + 1
        largest = max(groups.values(), default=0)
        if largest > MAX_INTERCHANGEABLE:
            return Fault("untrusted", "%d presented certificates share one subject and key; "
                         "the chain is refused rather than searched" % largest, 1)
    return None


# What a leaf's keyUsage must allow for each purpose when present (OpenSSL's
# check_purpose_ssl_server and _client), and the extendedKeyUsage it must then name.
_PURPOSE_USAGES = {
    "server": ("digital_signature", "key_encipherment", "key_agreement"),
    "client": ("digital_signature", "key_agreement"),
}
_PURPOSE_EKU = {"server": ExtendedKeyUsageOID.SERVER_AUTH,
                "client": ExtendedKeyUsageOID.CLIENT_AUTH}


def purpose_fault(leaf, purpose: str) -> Fault | None:
    """Whether the leaf's extendedKeyUsage (when present) names the purpose and its keyUsage
    (when present) allows it, as OpenSSL's purpose check has it."""
    try:
        usage = _extension(leaf, x509.ExtendedKeyUsage)
        key_usage = _extension(leaf, x509.KeyUsage)
    except (ValueError, TypeError):
        return None
    if usage is not None and _PURPOSE_EKU[purpose] not in usage.value:
        return Fault("bad_usage", "the leaf's extendedKeyUsage does not allow %s" % purpose, 0)
    if key_usage is not None and not any(
            getattr(key_usage.value, bit) for bit in _PURPOSE_USAGES[purpose]):
        return Fault("bad_usage", "the leaf's keyUsage does not allow %s use" % purpose, 0)
    return None


def empty_subject_fault(leaf) -> Fault | None:
    """RFC 5280 4.1.2.6 and 4.2.1.6: with an empty subject, a subjectAltName must be present
    and critical (OpenSSL's strict mode reports it while checking extensions, before names
    and validity)."""
    try:
        if len(leaf.subject):
            return None
        names = _extension(leaf, x509.SubjectAlternativeName)
    except (ValueError, TypeError):
        return None
    if names is None:
        return Fault("malformed", "the subject is empty and there is no subjectAltName "
                     "(RFC 5280 4.1.2.6)", 0)
    if not names.critical:
        return Fault("malformed", "the subject is empty and the subjectAltName is not critical "
                     "(RFC 5280 4.2.1.6)", 0)
    return None


def san_critical_fault(leaf) -> Fault | None:
    """CABF BR 7.1.2.7.12: the subjectAltName is critical only when the subject is empty."""
    try:
        names = _extension(leaf, x509.SubjectAlternativeName)
        if names is not None and names.critical and len(leaf.subject):
            return Fault("malformed", "the leaf's subjectAltName is critical while its subject "
                         "is not empty", 0)
    except (ValueError, TypeError):
        return None
    return None


def pinned_leaf_fault(leaf, purpose: str) -> Fault | None:
    """The end-entity checks on a leaf that is itself the trust anchor, which no path
    validator runs on it: its purpose (extendedKeyUsage naming it when present, keyUsage
    allowing it when present), no nameConstraints, a critical subjectAltName only with an
    empty subject. Its being a CA is no fault: a pinned certificate may assert cA."""
    fault = purpose_fault(leaf, purpose)
    if fault is not None:
        return fault
    if _extension(leaf, x509.NameConstraints) is not None:
        return Fault("malformed", "the leaf carries nameConstraints, which only CAs may", 0)
    return san_critical_fault(leaf)


def _extension(certificate, kind):
    """The extension of ``kind``, or None; ValueError when the certificate's are unreadable."""
    try:
        return certificate.extensions.get_extension_for_class(kind)
    except x509.ExtensionNotFound:
        return None


def _key_fault(certificate) -> str | None:
    """CABF BR 6.1.5: RSA of at least 2048 bits, a whole number of bytes; ECDSA on P-256,
    P-384 or P-521. EdDSA (RFC 8410) is allowed as well, as OpenSSL does."""
    try:
        key = certificate.public_key()
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return "the certificate's key type is not supported"
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < 2048 or key.key_size % 8:
            return "the certificate's RSA key has %d bits (at least 2048, a multiple of 8)" % (
                key.key_size)
        return None
    if isinstance(key, ec.EllipticCurvePublicKey):
        if key.curve.name not in _CURVES:
            return "the certificate's curve %s is not allowed" % key.curve.name
        return None
    if isinstance(key, (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey)):
        return None
    return "the certificate's key type %s is not allowed" % type(key).__name__


def _serial_fault(certificate) -> str | None:
    """RFC 5280 4.1.2.2: a positive integer of at most 20 octets."""
    with quiet():
        serial = certificate.serial_number
    if serial <= 0 or serial.bit_length() // 8 + 1 > 20:
        return "the serial number is not a positive integer of at most 20 octets (RFC 5280 4.1.2.2)"
    return None


@dataclasses.dataclass(frozen=True)
class _Facts:
    """What the path rules need to know of one certificate, wherever it sits in a path."""

    has_aki: bool
    has_ski: bool
    ca: bool
    key_problem: str | None
    serial_problem: str | None
    eku_critical: bool
    eku_any: bool
    has_eku: bool
    self_issued: bool
    anchor_aki_bad: bool


def _facts_of(certificate) -> _Facts:
    found = {type(ext.value): ext for ext in certificate.extensions}  # one pass
    usage = found.get(x509.ExtendedKeyUsage)
    constraints = found.get(x509.BasicConstraints)
    authority = found.get(x509.AuthorityKeyIdentifier)
    self_issued = certificate.issuer == certificate.subject
    return _Facts(
        has_aki=authority is not None and authority.value.key_identifier is not None,
        has_ski=x509.SubjectKeyIdentifier in found,
        ca=constraints is not None and constraints.value.ca,
        key_problem=_key_fault(certificate),
        serial_problem=_serial_fault(certificate),
        eku_critical=usage is not None and usage.critical,
        eku_any=usage is not None
        and ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE in usage.value,
        has_eku=usage is not None,
        self_issued=self_issued,
        anchor_aki_bad=self_issued and _anchor_aki_fault(certificate),
    )


_ca_facts = BoundedCache(1024)
_leaf_facts = BoundedCache(256)  # a peer seen again (a handshake's leaf); a big batch churns it


def _facts(certificate, shared: bool) -> _Facts:
    """The facts of ``certificate`` (a pure function of its bytes), kept: those of CA
    certificates, shared by many paths, in a larger table than those of leaves."""
    cache = _ca_facts if shared else _leaf_facts
    found = cache.get(certificate)
    if found is None:
        found = cache.put(certificate, _facts_of(certificate))
    return found


def _anchor_aki_fault(anchor) -> bool:
    """CABF BR 7.1.2.1.3: a root's authorityKeyIdentifier, if any, is its own key identifier."""
    aki = _extension(anchor, x509.AuthorityKeyIdentifier)
    if aki is None:
        return False
    value = aki.value
    if value.key_identifier is None or value.authority_cert_issuer is not None \
            or value.authority_cert_serial_number is not None:
        return True
    ski = _extension(anchor, x509.SubjectKeyIdentifier)
    return ski is not None and ski.value.digest != value.key_identifier


def _parsed_address(text: str) -> bytes | None:
    """``text`` as an IP address the way the C library reads one (inet_pton for IPv6,
    the lenient inet_aton for IPv4: hex, octal, leading zeros), or None."""
    if "\x00" in text or len(text) >= 64:
        return None
    try:
        return socket.inet_pton(socket.AF_INET6, text)
    except (OSError, ValueError):
        pass
    try:
        return socket.inet_aton(text)
    except (OSError, ValueError):
        return None


def common_name_misspelled(leaf) -> bool:
    """CABF BR 7.1.4.3: a server leaf's commonName that names one of its subjectAltNames must
    copy it exactly; one naming it in another spelling (letter case, IP address notation) is
    ambiguous. A commonName naming none of them is left alone."""
    names = leaf_names(leaf)
    for attribute in leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME):
        cn = attribute.value if isinstance(attribute.value, str) else None
        if cn is None:
            continue
        address = _parsed_address(cn)
        exact = misspelled = False
        for general_name in names:
            if isinstance(general_name, x509.DNSName):
                if general_name.value == cn:
                    exact = True
                elif general_name.value.encode("utf-8", "replace").lower() == \
                        cn.encode("utf-8", "replace").lower():
                    misspelled = True
            elif isinstance(general_name, x509.IPAddress):
                if str(general_name.value) == cn:
                    exact = True
                elif address is not None and isinstance(
                        general_name.value, (ipaddress.IPv4Address, ipaddress.IPv6Address)) \
                        and general_name.value.packed == address:
                    misspelled = True
        if misspelled and not exact:
            return True
    return False


def after(chain, *, at, purpose: str) -> Fault | None:
    """Checks on the built path (leaf first, trust anchor last), in this order: the leaf's DNS
    subjectAltNames in preferred name syntax, key identifiers as OpenSSL's strict mode has them (RFC 5280 4.2.1.1-2: an
    authorityKeyIdentifier below the top of the path, a subjectKeyIdentifier in a CA), key
    types and sizes, serial numbers, the leaf's extendedKeyUsage form and commonName, the
    root's authorityKeyIdentifier and extendedKeyUsage. csrc/engine_verify.c applies the
    same rules in the same order."""
    for general_name in leaf_names(chain[0]):  # the end-entity profile, first as in C
        if isinstance(general_name, x509.DNSName) and not dns_name_valid(general_name.value):
            return Fault("malformed", "a DNS subjectAltName is not a valid domain name", 0)
    try:
        facts = [_facts(c, depth > 0) for depth, c in enumerate(chain)]
        last = len(chain) - 1
        for depth, fact in enumerate(facts):
            if depth < last and not fact.has_aki:
                return Fault("malformed", "the certificate at depth %d has no "
                             "authorityKeyIdentifier keyIdentifier" % depth, depth)
            if fact.ca and not fact.has_ski:
                return Fault("malformed", "the CA at depth %d has no subjectKeyIdentifier"
                             % depth, depth)
        for depth, fact in enumerate(facts):
            if fact.key_problem is not None:
                return Fault("unsupported", fact.key_problem, depth)
        for depth, fact in enumerate(facts[:-1]):
            if fact.serial_problem is not None:
                return Fault("malformed", fact.serial_problem, depth)
        if facts[0].eku_critical:
            return Fault("bad_usage", "the leaf's extendedKeyUsage is marked critical", 0)
        if facts[0].eku_any:
            return Fault("bad_usage", "the leaf's extendedKeyUsage allows any purpose", 0)
        if purpose == "server" and common_name_misspelled(chain[0]):
            return Fault("name_mismatch", "a subject commonName spells one of the "
                         "subjectAltNames differently (CABF BR 7.1.4.3)", 0)
        if last > 0:
            if facts[last].anchor_aki_bad:
                return Fault("malformed", "the root's authorityKeyIdentifier is not its own key "
                             "identifier (CABF BR 7.1.2.1.3)", last)
            if facts[last].self_issued and facts[last].has_eku:
                return Fault("bad_usage", "the root carries an extendedKeyUsage "
                             "(CABF BR 7.1.2.1.2)", last)
    except (ValueError, TypeError) as exc:
        return Fault("malformed", "an extension cannot be read (%s)" % exc, None)
    return None
