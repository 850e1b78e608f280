"""The project's own certificate rules, applied the same way whichever backend verifies.

Both backends call :func:`before` on the presented chain and :func:`after` on the built path.
Each rule lives here once. Helpers for names (RFC 6125 matching of a reference name against the
leaf's subjectAltName) are shared too.
"""

from __future__ import annotations

import dataclasses
import ipaddress

from cryptography import x509


@dataclasses.dataclass(frozen=True)
class Fault:
    reason: str
    detail: str
    depth: int | None


def leaf_names(leaf: x509.Certificate) -> list[x509.GeneralName]:
    """The leaf's subjectAltName entries (empty when it has none or it cannot be read)."""
    try:
        return list(leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)
    except (x509.ExtensionNotFound, ValueError):
        return []


def is_ca(certificate: x509.Certificate) -> bool:
    try:
        return certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except (x509.ExtensionNotFound, ValueError):
        return False


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
    except ValueError:
        address = None
    for general_name in leaf_names(leaf):
        if address is not None and isinstance(general_name, x509.IPAddress):
            if general_name.value == address:
                return True
        elif address is None and isinstance(general_name, x509.DNSName):
            if _dns_matches(general_name.value, name):
                return True
    return False


def before(leaf, intermediates, *, purpose: str, name: str | None) -> Fault | None:
    """Checks on the presented chain, before any path is built."""
    return None


def after(chain, *, at, purpose: str) -> Fault | None:
    """Checks on the built path (leaf first, trust anchor last)."""
    return None
