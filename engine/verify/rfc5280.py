"""RFC 5280 path validation in Python, for the chains cryptography's Web PKI verifier refuses
only because they use EdDSA (RFC 8410 keys and RFC 8032 signatures).

cryptography's verifier follows the CA/Browser Forum profile, which permits RSA and ECDSA
only; OpenSSL, and so the native backend, accepts Ed25519 and Ed448 as well. So that both
backends give the same verdicts on such chains, this module validates them itself:

- path building (6.1 and RFC 4158): issuers by name, signatures verified, backtracking over
  candidates, at most ``max_depth`` intermediates (default 8) and a bounded number of steps;
- per certificate (6.1.3): validity period at the verification time;
- per CA certificate (6.1.4): basicConstraints cA (k), pathLenConstraint (l, m),
  keyUsage keyCertSign when keyUsage is present (n), name constraints on the leaf's names (g);
- the leaf: extendedKeyUsage for the purpose (4.2.1.12, anyExtendedKeyUsage accepted), the
  subjectAltName against the name asked for (RFC 6125 6.4), and a subjectAltName for a server.
"""

from __future__ import annotations

import datetime
import ipaddress

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ed448, ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID, SignatureAlgorithmOID

from . import paths, rules
from .rules import Fault

DEFAULT_MAX_DEPTH = 8
MAX_STEPS = 256
_EDDSA_SIGNATURES = {SignatureAlgorithmOID.ED25519, SignatureAlgorithmOID.ED448}
_PURPOSE_EKU = {"server": ExtendedKeyUsageOID.SERVER_AUTH, "client": ExtendedKeyUsageOID.CLIENT_AUTH}


def uses_eddsa(certificates) -> bool:
    """Whether any of ``certificates`` carries an EdDSA key or an EdDSA signature."""
    for certificate in certificates:
        if certificate.signature_algorithm_oid in _EDDSA_SIGNATURES:
            return True
        try:
            key = certificate.public_key()
        except (ValueError, TypeError):
            continue
        if isinstance(key, (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey)):
            return True
    return False


def _extension(certificate, kind):
    try:
        return certificate.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None


def _self_issued(certificate) -> bool:
    return certificate.issuer == certificate.subject


class _Search:
    def __init__(self, anchors, intermediates, max_depth, check_path):
        self.anchors = anchors
        self.intermediates = intermediates
        self.max_depth = DEFAULT_MAX_DEPTH if max_depth is None else max_depth
        self.check_path = check_path
        self.steps = 0
        self.first_fault: tuple[list, Fault] | None = None

    def _note(self, path, fault):
        if self.first_fault is None:
            self.first_fault = (list(path), fault)

    def run(self, leaf):
        return self._extend([leaf])

    def _extend(self, path):
        current = path[-1]
        self.steps += 1
        if self.steps > MAX_STEPS:
            self._note(path, Fault("untrusted", "path building gave up after %d steps" % MAX_STEPS,
                                   len(path) - 1))
            return None
        anchors = [a for a in self.anchors if a.subject == current.issuer]
        others = [c for c in self.intermediates if c.subject == current.issuer and c not in path]
        if not anchors and not others:
            self._note(path, Fault("untrusted", "no issuer of the certificate at depth %d is "
                                   "trusted or presented" % (len(path) - 1), len(path) - 1))
            return None
        for candidate in anchors + others:
            is_anchor = candidate in anchors
            if not paths.signed_by(current, candidate):
                self._note(path, Fault("bad_signature", "the signature of the certificate at "
                                       "depth %d does not verify" % (len(path) - 1), len(path) - 1))
                continue
            extended = path + [candidate]
            if is_anchor:
                fault = self.check_path(extended)
                if fault is None:
                    return extended
                self._note(extended, fault)
                continue
            if len(extended) - 1 > self.max_depth:
                self._note(extended, Fault("path_too_long", "the path needs more than %d "
                                           "intermediates" % self.max_depth, self.max_depth + 1))
                continue
            found = self._extend(extended)
            if found is not None:
                return found
        return None


def validate(leaf, intermediates, anchors, *, at: datetime.datetime, purpose: str,
             name: str | None, max_depth: int | None):
    """(chain, None) when a valid path exists, else (best path, Fault)."""

    def check(path):
        return check_path(path, at=at, purpose=purpose, name=name)

    search = _Search(anchors, intermediates, max_depth, check)
    found = search.run(leaf)
    if found is not None:
        return tuple(found), None
    path, fault = search.first_fault or ([leaf], Fault("untrusted", "no path found", 0))
    return tuple(path), fault


def check_path(path, *, at, purpose, name) -> Fault | None:
    """The first fault of a complete path (leaf first, anchor last), or None."""
    fault = paths.time_fault(path, at)
    if fault is not None:
        return Fault(fault[0], fault[2], fault[1])
    leaf = path[0]
    for depth in range(1, len(path)):
        ca = path[depth]
        try:
            constraints = _extension(ca, x509.BasicConstraints)
            usage = _extension(ca, x509.KeyUsage)
        except (ValueError, TypeError) as exc:
            return Fault("malformed", "an extension of the CA at depth %d cannot be read (%s)"
                         % (depth, exc), depth)
        if constraints is None or not constraints.ca:
            return Fault("invalid_ca", "the certificate at depth %d is not a CA" % depth, depth)
        if usage is not None and not usage.key_cert_sign:
            return Fault("bad_usage", "the CA at depth %d may not sign certificates "
                         "(no keyCertSign)" % depth, depth)
        below = sum(1 for c in path[1:depth] if not _self_issued(c))
        if constraints.path_length is not None and below > constraints.path_length:
            return Fault("path_too_long", "the CA at depth %d allows %d intermediates below it"
                         % (depth, constraints.path_length), depth)
        fault = _name_constraints(ca, leaf, depth)
        if fault is not None:
            return fault
    return _leaf_fault(leaf, purpose, name)


def path_length_fault(path) -> int | None:
    """The depth of the first CA of ``path`` whose pathLenConstraint the path exceeds."""
    for depth in range(1, len(path)):
        try:
            constraints = _extension(path[depth], x509.BasicConstraints)
        except (ValueError, TypeError):
            continue
        if constraints is None or constraints.path_length is None:
            continue
        below = sum(1 for c in path[1:depth] if not _self_issued(c))
        if below > constraints.path_length:
            return depth
    return None


def _leaf_fault(leaf, purpose, name) -> Fault | None:
    try:
        usage = _extension(leaf, x509.ExtendedKeyUsage)
    except (ValueError, TypeError) as exc:
        return Fault("malformed", "the leaf's extendedKeyUsage cannot be read (%s)" % exc, 0)
    if usage is not None:
        wanted = _PURPOSE_EKU[purpose]
        if wanted not in usage and ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE not in usage:
            return Fault("bad_usage", "the leaf's extendedKeyUsage does not allow %s"
                         % wanted._name, 0)
    if purpose == "server" and not rules.leaf_names(leaf):
        return Fault("name_mismatch", "the server certificate has no subjectAltName", 0)
    if name is not None and not rules.name_matches(leaf, name):
        return Fault("name_mismatch", "the certificate is not valid for %r" % name, 0)
    return None


def _dns_within(name: str, base: str) -> bool:
    name, base = name.lower().rstrip("."), base.lower().rstrip(".").lstrip(".")
    if not base:
        return True
    return name == base or name.endswith("." + base)


def _ip_within(address, network_value) -> bool:
    return isinstance(network_value, (ipaddress.IPv4Network, ipaddress.IPv6Network)) and \
        address.version == network_value.version and address in network_value


def _name_constraints(ca, leaf, depth) -> Fault | None:
    try:
        constraints = _extension(ca, x509.NameConstraints)
    except (ValueError, TypeError) as exc:
        return Fault("malformed", "the CA's nameConstraints cannot be read (%s)" % exc, depth)
    if constraints is None:
        return None
    kind: type[x509.GeneralName]
    for general_name in rules.leaf_names(leaf):
        if isinstance(general_name, x509.DNSName):
            value = general_name.value.lstrip("*.") if general_name.value.startswith("*.") \
                else general_name.value
            kind, within = x509.DNSName, lambda sub: _dns_within(value, sub.value)
        elif isinstance(general_name, x509.IPAddress):
            address = general_name.value
            kind, within = x509.IPAddress, lambda sub: _ip_within(address, sub.value)
        else:
            continue
        excluded = [s for s in constraints.excluded_subtrees or () if isinstance(s, kind)]
        permitted = [s for s in constraints.permitted_subtrees or () if isinstance(s, kind)]
        if any(within(s) for s in excluded) or (permitted and not any(within(s) for s in permitted)):
            return Fault("name_mismatch", "the name %s is outside the name constraints of the "
                         "CA at depth %d" % (general_name.value, depth), 0)
    return None
