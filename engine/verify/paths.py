"""Best-effort paths for chains that failed, so a verdict can name the certificate at fault.

A verifier that rejects a chain does not always say which certificate it was looking at. The
path assembled here follows issuer names (and, among several candidates, the one whose key
verifies the signature) from the leaf through the presented intermediates to a trust anchor;
it is used only to place a failure, never to accept a chain.
"""

from __future__ import annotations

import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm

MAX_PRESUMED_LENGTH = 16


def signed_by(subject: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        subject.verify_directly_issued_by(issuer)
    except (InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm):
        return False
    return True


def presumed_path(leaf, intermediates, anchors) -> list[x509.Certificate]:
    """leaf, then issuers by name (verified signatures preferred), ending at an anchor if any."""
    path = [leaf]
    current = leaf
    pool = list(intermediates)
    while len(path) < MAX_PRESUMED_LENGTH:
        if current.issuer == current.subject and any(current == a for a in anchors):
            break
        named_anchors = [a for a in anchors if a.subject == current.issuer]
        named = [c for c in pool if c.subject == current.issuer and c not in path]
        candidates = named_anchors + named
        if not candidates:
            break
        verified = [c for c in candidates if signed_by(current, c)]
        chosen = (verified or candidates)[0]
        path.append(chosen)
        if any(chosen == a for a in anchors):
            break
        current = chosen
    return path


def _utc(value: datetime.datetime) -> datetime.datetime:
    return value if value.tzinfo else value.replace(tzinfo=datetime.timezone.utc)


def time_fault(path, at: datetime.datetime):
    """(reason, depth, detail) for the certificate of ``path`` nearest its top that is not
    valid at ``at`` (the order in which OpenSSL checks them, so both backends name the same)."""
    for depth in reversed(range(len(path))):
        cert = path[depth]
        not_before = _utc(cert.not_valid_before_utc)
        not_after = _utc(cert.not_valid_after_utc)
        if at > not_after:
            return "expired", depth, "the certificate at depth %d expired on %s" % (
                depth, not_after.isoformat())
        if at < not_before:
            return "not_yet_valid", depth, "the certificate at depth %d is not valid before %s" % (
                depth, not_before.isoformat())
    return None


def _key_id(certificate, kind):
    try:
        value = certificate.extensions.get_extension_for_class(kind).value
    except (x509.ExtensionNotFound, ValueError, TypeError):
        return None
    return value.key_identifier if kind is x509.AuthorityKeyIdentifier else value.digest


def key_ids_differ(subject, issuer) -> bool:
    """Whether ``subject``'s authorityKeyIdentifier names a key other than ``issuer``'s
    (RFC 5280 4.2.1.1): then ``issuer`` only shares the name of the real one."""
    wanted = _key_id(subject, x509.AuthorityKeyIdentifier)
    offered = _key_id(issuer, x509.SubjectKeyIdentifier)
    return wanted is not None and offered is not None and wanted != offered


def signature_fault(path):
    """The depth of the first certificate whose signature its presumed issuer does not verify."""
    for depth in range(len(path) - 1):
        if not signed_by(path[depth], path[depth + 1]):
            return depth
    if path and path[-1].issuer == path[-1].subject and not signed_by(path[-1], path[-1]):
        return len(path) - 1
    return None
