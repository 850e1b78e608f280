"""The pure-Python verifier: pyca/cryptography's path validation plus CRL checks in Python.

cryptography's verifier (``x509.verification``) builds and validates the path under the
CA/Browser Forum profile; it knows nothing of revocation, so :mod:`.revocation` checks the built
path afterwards. Its errors are sentences; :func:`explain` turns them into a reason and, with
the help of :mod:`.paths`, the depth of the certificate at fault.

Verifiers are built once per (time, purpose, subject, depth limit) and the trust store once per
set of anchors, and kept for later calls.
"""

from __future__ import annotations

import datetime
import ipaddress
import threading

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.x509.verification import (
    ClientVerifier,
    Criticality,
    DNSName,
    ExtensionPolicy,
    IPAddress,
    PolicyBuilder,
    ServerVerifier,
    Store,
    VerificationError,
)

from . import inputs, paths, rfc5280, rules
from .cache import BoundedCache
from .revocation import RevocationIndex
from .verdict import Verdict, accepted, rejected

NAME = "python"
_VERIFIER_CACHE_SIZE = 256


class TrustContext:
    """A parsed trust store and the verifiers built on it."""

    def __init__(self, ders: tuple[bytes, ...]):
        self.anchors = [inputs.certificate(d) for d in ders]
        self.anchor_set = set(self.anchors)
        self.store = Store(self.anchors) if self.anchors else None
        self._verifiers: dict = {}
        self._builders: dict = {}
        self._lock = threading.Lock()

    def _ca_key_usage(self, policy, certificate, usage) -> None:
        """RFC 5280 4.2.1.3 and 6.1.1 (d): a CA signs certificates only with keyCertSign; a
        trust anchor is a name and a key, so one without keyUsage is still an anchor."""
        if usage is None:
            if certificate not in self.anchor_set:
                raise ValueError("CA certificate has no keyUsage")
        elif not usage.key_cert_sign:
            raise ValueError("CA keyUsage does not assert keyCertSign")

    def _builder(self, purpose: str, at, max_depth) -> PolicyBuilder:
        """The policy builder for everything but the subject, made once per combination."""
        key = (purpose, at, max_depth)
        found = self._builders.get(key)
        if found is not None:
            return found
        assert self.store is not None, "verify_chain answers untrusted without anchors"
        builder = PolicyBuilder().store(self.store).time(at)
        if max_depth is not None:
            builder = builder.max_chain_depth(max_depth)
        ca = ExtensionPolicy.webpki_defaults_ca().may_be_present(
            x509.KeyUsage, Criticality.AGNOSTIC, self._ca_key_usage
        )
        # The subjectAltName, critical or not: client certificates need not carry one (a name
        # is checked only when one is asked for), a server's must; whether it may be critical is the project's
        # rule (rules.san_critical_fault), checked after the path as in C, so that both
        # backends report the same fault first. The rest of the end-entity profile stays.
        ee = ExtensionPolicy.webpki_defaults_ee()
        if purpose == "client":
            ee = ee.may_be_present(x509.SubjectAlternativeName, Criticality.AGNOSTIC, None)
        else:
            ee = ee.require_present(x509.SubjectAlternativeName, Criticality.AGNOSTIC, None)
        builder = builder.extension_policies(ca_policy=ca, ee_policy=ee)
        with self._lock:
            if len(self._builders) >= _VERIFIER_CACHE_SIZE:
                self._builders.clear()
            self._builders[key] = builder
        return builder

    def verifier(self, purpose: str, subject, at, max_depth):
        key = (purpose, subject, at, max_depth)
        with self._lock:
            found = self._verifiers.get(key)
        if found is not None:
            return found
        builder = self._builder(purpose, at, max_depth)
        verifier: ServerVerifier | ClientVerifier
        if purpose == "server":
            verifier = builder.build_server_verifier(subject)
        else:
            verifier = builder.build_client_verifier()
        with self._lock:
            if len(self._verifiers) >= _VERIFIER_CACHE_SIZE:
                self._verifiers.clear()
            self._verifiers[key] = verifier
        return verifier


_contexts = BoundedCache(16)


def trust_context(ders: tuple[bytes, ...]) -> TrustContext:
    """The trust context of these anchors, kept for later calls with the same anchors."""
    return _contexts.get_or_make(ders, TrustContext)


def server_subject(name: str | None, leaf: x509.Certificate):
    """The cryptography Subject to check a server leaf against.

    With no name asked for, the leaf's own first DNS or IP subjectAltName stands in, so that
    everything but the name is checked; a leaf with neither has no server identity at all.
    """
    if name is not None:
        try:
            return IPAddress(ipaddress.ip_address(name))
        except (ValueError, TypeError):
            return DNSName(name)
    for general_name in rules.leaf_names(leaf):
        if isinstance(general_name, x509.IPAddress):
            return IPAddress(general_name.value)
        if isinstance(general_name, x509.DNSName):
            value = general_name.value
            if value.startswith("*."):
                value = "wildcard" + value[1:]
            return DNSName(value)
    return None


# cryptography's messages, in the order they are tried, and the reason each stands for.
_MESSAGES = (
    ("not valid at validation time", "time"),
    ("signature does not match", "bad_signature"),
    ("basicconstraints.ca must be asserted", "invalid_ca"),
    ("ca certificate has no basicconstraints", "invalid_ca"),
    ("path length constraint violated", "path_too_long"),
    ("exceeds max depth", "path_too_long"),
    ("no matching subjectaltname", "name_mismatch"),
    ("has no subjectaltname", "name_mismatch"),
    ("check limit", "unsupported"),
    ("must not be asserted in an ee certificate", "bad_usage"),
    ("must not be critical when subject is nonempty", "malformed"),
    ("must be critical when subject is empty", "malformed"),
    ("nameconstraints must have non-empty", "malformed"),
    ("asn.1 parsing error", "malformed"),
    ("prohibited extension", "malformed"),
    ("ca certificate has no keyusage", "invalid_ca"),
    ("does not assert keycertsign", "bad_usage"),
    ("name constraint", "name_mismatch"),
    ("required eku not found", "bad_usage"),
    ("2.5.29.37", "bad_usage"),
    ("2.5.29.15", "bad_usage"),
    ("keycertsign", "bad_usage"),
    ("key usage", "bad_usage"),
    ("forbidden public key", "unsupported"),
    ("forbidden signature algorithm", "unsupported"),
    ("unsupported", "unsupported"),
    ("rsa key", "unsupported"),
    ("malformed", "malformed"),
    ("invalid extension", "malformed"),
    ("duplicate", "malformed"),
    ("all candidates exhausted with no interior errors", "untrusted"),
)


def _empty_constraints(certificate) -> bool:
    try:
        value = certificate.extensions.get_extension_for_class(x509.NameConstraints).value
    except (x509.ExtensionNotFound, ValueError, TypeError):
        return False
    return not value.permitted_subtrees and not value.excluded_subtrees


def _first_ca(path, test) -> int | None:
    """The depth of the first CA of ``path`` (trust anchor excepted) whose keyUsage passes
    ``test``."""
    for depth in range(1, len(path) - 1):
        try:
            usage = path[depth].extensions.get_extension_for_class(x509.KeyUsage).value
        except x509.ExtensionNotFound:
            usage = None
        except (ValueError, TypeError):
            continue
        if test(usage):
            return depth
    return None


# Reasons OpenSSL finds after it has checked the leaf's extensions and purpose; the first
# three also after the leaf's name.
_LATER_IN_OPENSSL = ("time", "bad_signature", "name_mismatch", "bad_usage")
_AFTER_THE_NAME = ("time", "bad_signature", "name_mismatch")


def _earlier_fault(leaf, name, purpose, reason) -> rules.Fault | None:
    """The fault OpenSSL would report before ``reason``: the leaf's empty subject (strict
    extension checks), its purpose, then its name."""
    fault = rules.empty_subject_fault(leaf) or rules.purpose_fault(leaf, purpose)
    if fault is None and reason in _AFTER_THE_NAME and name is not None \
            and not _named_exactly_or_matched(leaf, name):
        fault = rules.Fault("name_mismatch", "the certificate is not valid for %r" % name, 0)
    return fault


def explain(message: str, leaf, intermediates, anchors, at, max_depth=None, name=None,
            purpose="server") -> Verdict:
    """The verdict for a VerificationError ``message`` raised on this chain."""
    text = message.lower()
    reason = "unsupported"
    for needle, mapped in _MESSAGES:
        if needle in text:
            reason = mapped
            break
    path = paths.presumed_path(leaf, intermediates, anchors)
    depth = None
    detail = message
    if reason != "untrusted" and not any(path[-1] == a for a in anchors):
        # OpenSSL builds the path before it checks anything else: with no trusted issuer in
        # reach, that is the fault it reports (at the top of what it could build)
        reason, depth = "untrusted", len(path) - 1
        detail = "no trusted issuer of the certificate at depth %d: %s" % (depth, message)
    elif reason in _LATER_IN_OPENSSL and \
            (found := _earlier_fault(leaf, name, purpose, reason)) is not None:
        # OpenSSL checks the leaf's purpose, its extensions (strict) and then its name before
        # signatures and validity periods: the first of those is what it reports
        reason, depth, detail = found.reason, found.depth, found.detail
    elif reason == "time":
        fault = paths.time_fault(path, at)
        if fault is None:
            reason = "expired"
        else:
            reason, depth, detail = fault
    elif reason == "bad_signature":
        depth = paths.signature_fault(path)
        if depth is not None and depth + 1 < len(path) and \
                paths.key_ids_differ(path[depth], path[depth + 1]):
            # Only the name matches: no issuer of this certificate was found (as OpenSSL,
            # which matches key identifiers before signatures, reports it).
            reason = "untrusted"
            detail = "no trusted issuer of the certificate at depth %d: %s" % (depth, message)
    elif "nameconstraints must have non-empty" in text:
        depth = next((i for i, c in enumerate(path[1:], 1) if _empty_constraints(c)), None)
    elif "encountered processing" in text:
        depth = 0  # the end-entity checks, which cryptography makes on the leaf
    elif reason == "untrusted":
        depth = len(path) - 1
        detail = "no path leads from the certificate to a trusted root"
    elif reason == "path_too_long":
        if "max depth" in text:
            depth = (rfc5280.DEFAULT_MAX_DEPTH if max_depth is None else max_depth) + 1
        else:
            depth = rfc5280.path_length_fault(path)
    elif reason == "invalid_ca" and "keyusage" in text:
        depth = _first_ca(path, lambda usage: usage is None)
    elif reason == "bad_usage" and "keycertsign" in text:
        depth = _first_ca(path, lambda usage: usage is not None and not usage.key_cert_sign)
    elif reason == "invalid_ca":
        depth = next((i for i, c in enumerate(path[1:], 1) if not rules.is_ca(c)), None)
    return rejected(reason, detail, depth, path)


def prepare(anchors: tuple[bytes, ...], crls: tuple[bytes, ...]) -> TrustContext:
    """The trust context of ``anchors``, built once (CRLs are indexed by the caller)."""
    return trust_context(anchors)


def verify(chains, names, anchors: tuple[bytes, ...], crls: tuple[bytes, ...],
           revocation: RevocationIndex | None, *, at: datetime.datetime, purpose: str,
           max_depth: int | None, threads: int = 1, options: int = 0,
           flat: list[bytes] | None = None) -> list[Verdict]:
    """One verdict per chain (each a sequence of DER, leaf first), in order; see
    engine.verify._interface. Chains are verified one after another on this thread, so
    ``threads`` and ``flat`` change nothing; ``options`` are the native batch's alone."""
    if options:
        raise ValueError("the Python verifier takes no measuring options")
    context = trust_context(anchors)
    if names is None:
        names = [None] * len(chains)
    return [
        verify_one(context, ders, name, revocation, at=at, purpose=purpose, max_depth=max_depth)
        for ders, name in zip(chains, names)
    ]


def _pinned(leaf, name, *, purpose: str, at) -> Verdict:
    """A leaf that is itself a trust anchor (a pinned certificate, such as a self-signed
    server certificate, with or without cA) is the whole path: its purpose, its name, its
    validity period and the project's rules are checked, in the order OpenSSL and
    csrc/engine_verify_rules.c check them; no signature, and no CRL (an anchor has none)."""
    path = (leaf,)
    fault = rules.pinned_leaf_fault(leaf, purpose)
    if fault is None and purpose == "server" and name is None and not any(
            isinstance(n, (x509.DNSName, x509.IPAddress)) for n in rules.leaf_names(leaf)):
        fault = rules.Fault("name_mismatch",
                            "the server certificate has no DNS or IP subjectAltName", 0)
    if fault is None and name is not None and not _named_exactly_or_matched(leaf, name):
        fault = rules.Fault("name_mismatch", "the certificate is not valid for %r" % name, 0)
    if fault is None:
        found = paths.time_fault(path, at)
        if found is not None:
            fault = rules.Fault(found[0], found[2], found[1])
    if fault is None:
        fault = rules.after(path, at=at, purpose=purpose)
    if fault is not None:
        return rejected(fault.reason, fault.detail, fault.depth, path)
    return accepted(path)


def _is_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _named_exactly_or_matched(leaf, name: str) -> bool:
    """Whether ``name`` is one of the leaf's names; a name outside preferred name syntax (an
    underscore) matches no wildcard, as OpenSSL has it, only a subjectAltName spelled the same."""
    if rules.dns_name_valid(name) or _is_address(name):
        return rules.name_matches(leaf, name)
    wanted = name.lower()
    return any(isinstance(n, x509.DNSName) and n.value.lower() == wanted
               for n in rules.leaf_names(leaf))


def verify_one(context: TrustContext, ders, name, revocation, *, at, purpose, max_depth) -> Verdict:
    """The verdict for one chain; a certificate cryptography cannot interpret (it raises
    ValueError or TypeError from deep inside) is ``malformed``, never an exception."""
    try:
        return _verify_one(context, ders, name, revocation, at=at, purpose=purpose,
                           max_depth=max_depth)
    except inputs.UNREADABLE + (UnsupportedAlgorithm,) as exc:
        return rejected("malformed", "a certificate cannot be interpreted: %s" % exc, None, ())


def _verify_one(context: TrustContext, ders, name, revocation, *, at, purpose, max_depth):
    certificates = []
    for position, der in enumerate(ders):  # the depth of the first unreadable one, as in C
        try:
            certificates.append(inputs.certificate(der))
        except inputs.MalformedInput as exc:
            return rejected("malformed", "%s (certificate at depth %d)" % (exc, position),
                            position, certificates[:1])
    leaf, intermediates = certificates[0], certificates[1:]
    if rules.bad_address(leaf):  # as csrc/engine_verify.c, before any path is built
        return rejected("malformed", "an iPAddress subjectAltName is not an address of 4 or 16 "
                        "octets, or the subjectAltName cannot be decoded (RFC 5280 4.2.1.6)",
                        0, (leaf,))
    if context.store is None:
        return rejected("untrusted", "the trust store is empty", 0, (leaf,))
    fault = rules.before(leaf, intermediates, purpose=purpose, name=name,
                         anchors=context.anchors)
    if fault is not None:
        return rejected(fault.reason, fault.detail, fault.depth, (leaf,))
    if leaf in context.anchor_set:
        return _pinned(leaf, name, purpose=purpose, at=at)
    if rules.key_unsupported(leaf):
        return rejected("unsupported", "the leaf's key type is not supported", 0, (leaf,))
    if rules.is_ca(leaf) and leaf.issuer == leaf.subject and paths.signed_by(leaf, leaf):
        # as OpenSSL has it: a self-signed certificate is trusted by being pinned or not at
        # all (cryptography would first refuse its cA as an end entity's)
        return rejected("untrusted", "the certificate is self-signed and not in the trust "
                        "store", 0, (leaf,))
    if purpose == "server":
        try:
            subject = server_subject(name, leaf)
        except ValueError as exc:
            return rejected("name_mismatch", "%r is not a usable name: %s" % (name, exc), 0, (leaf,))
        if subject is None:
            return rejected("name_mismatch",
                            "the server certificate has no DNS or IP subjectAltName", 0, (leaf,))
    else:
        subject = None
    try:
        verifier = context.verifier(purpose, subject, at, max_depth)
        built = verifier.verify(leaf, intermediates)
    except VerificationError as exc:
        if "forbidden" in str(exc).lower() and rfc5280.uses_eddsa(
                certificates + [a for a in context.anchors if rfc5280.uses_eddsa([a])]):
            chain, fault = rfc5280.validate(leaf, intermediates, context.anchors, at=at,
                                            purpose=purpose, name=name, max_depth=max_depth)
            if fault is not None:
                return rejected(fault.reason, fault.detail, fault.depth, chain)
        else:
            return explain(str(exc), leaf, intermediates, context.anchors, at, max_depth,
                           name, purpose)
    except ValueError as exc:
        # cryptography reads the leaf's names only when verifying (an invalid domain name).
        if name is not None and not _named_exactly_or_matched(leaf, name):
            return rejected("name_mismatch", "the certificate is not valid for %r" % name, 0,
                            (leaf,))
        depth = 0 if "name" in str(exc) else None
        return rejected("malformed", "the chain cannot be checked: %s" % exc, depth, (leaf,))
    else:
        chain = tuple(built if purpose == "server" else built.chain)
    # In OpenSSL's order: the strict extension checks (an empty subject), the name (which
    # cryptography lets a wildcard match over a single label, *.example, and OpenSSL and the
    # project's matcher, RFC 6125 6.4.3, do not), then the project's rules as in C.
    fault = rules.empty_subject_fault(leaf)
    if fault is None and name is not None and not _named_exactly_or_matched(leaf, name):
        fault = rules.Fault("name_mismatch", "the certificate is not valid for %r" % name, 0)
    fault = fault or rules.san_critical_fault(leaf) or rules.after(chain, at=at, purpose=purpose)
    if fault is not None:
        return rejected(fault.reason, fault.detail, fault.depth, chain)
    if revocation:
        fault = revocation.check_path(chain, at)
        if fault is not None:
            return rejected(fault.reason, fault.detail, fault.depth, chain)
    return accepted(chain)
