"""The public entry point: argument checking and the choice of backend.

Chains that are lists of DER go to the native batch as they are (a handful of whole-list
operations, the names checked in C); anything else is read into DER here first. The Python
twin verifies each distinct (chain, name) once."""

from __future__ import annotations

import ipaddress
import os
import datetime
import re
from typing import TYPE_CHECKING, Iterable, Sequence

from cryptography import x509

from .. import _backend
from . import inputs
from .revocation import index_for
from .verdict import Verdict, rejected

if TYPE_CHECKING:
    from ..pki.truststore import TrustStore
    from ..tls.config import CRLSource

PURPOSES = ("server", "client")


_CPUS = os.cpu_count() or 1


_DNS_LABEL = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\Z")


def usable_name(name: str) -> bool:
    """Whether ``name`` is a DNS name (LDH labels, RFC 1123 2.1 and RFC 6125 6.4; an underscore
    is let through for the backends to judge) or an IP address a certificate can be issued for. Anything else (empty, a trailing dot, spaces, a
    wildcard, a scoped IPv6 address) matches no certificate: its verdict is ``name_mismatch``
    in both backends. The native batch applies the same rule in C (engine_verify_name_kind)."""
    if ":" in name:
        try:
            return "%" not in name and ipaddress.ip_address(name).version == 6
        except ValueError:
            return False
    if not 0 < len(name) <= 253:
        return False
    return all(_DNS_LABEL.match(label) for label in name.split("."))


def verify_chains(
    chains: Iterable[Sequence[x509.Certificate | bytes | str]],
    trust: TrustStore | Iterable[x509.Certificate] | str | os.PathLike[str],
    *,
    crls: Iterable[CRLSource] = (),
    at: datetime.datetime | None = None,
    purpose: str = "server",
    names: Sequence[str | None] | None = None,
    max_depth: int | None = None,
    threads: int | None = None,
    backend: str | None = None,
) -> list[Verdict]:
    """Verify each chain against ``trust``; one :class:`Verdict` per chain, in order.

    chains: sequences whose first element is the leaf and the rest untrusted intermediates, as
    DER bytes, PEM or x509.Certificate. trust: a TrustStore or an iterable of CA certificates.
    crls: RevocationList, PEM, DER or x509 CRL objects; when given, every certificate of the
    built path (trust anchor excepted) must be covered by a valid CRL from its issuer.
    at: the verification time (default now). purpose: "server" (the leaf must allow
    serverAuth) or "client" (clientAuth). names: None or one DNS name / IP string (or None) per
    chain. max_depth: the most intermediates a path may have. threads: native worker threads
    (default os.cpu_count(); one for a single chain). backend: "native", "python" or None (ENGINE_BACKEND).
    """
    if purpose not in PURPOSES:
        raise ValueError("purpose must be 'server' or 'client', not %r" % (purpose,))
    if max_depth is not None and (not isinstance(max_depth, int) or max_depth < 0):
        raise ValueError("max_depth must be a non-negative integer")
    if threads is not None and (not isinstance(threads, int) or threads < 1):
        raise ValueError("threads must be a positive integer")
    verifier = _backend.verifier(backend)
    chains = chains if type(chains) is list else list(chains)
    names = _checked_names(names, len(chains))
    when = inputs.verification_time(at)
    anchors = inputs.trust_ders(trust)
    crl_set = inputs.crl_ders(crls)
    revocation = index_for(crl_set) if crl_set else None
    if verifier.NAME == "native":
        return _verify_native(verifier, chains, names, anchors, crl_set, revocation, when,
                              purpose, max_depth, threads)
    return _verify_python(verifier, chains, names, anchors, crl_set, revocation, when, purpose,
                          max_depth)


def _checked_names(names, n: int):
    """None, or the names as a list of one str or None per chain."""
    if names is None:
        return None
    if isinstance(names, str):
        raise ValueError("names must be one name per chain (a list), not a single string")
    names = list(names)
    if len(names) != n:
        raise ValueError("names has %d entries for %d chains" % (len(names), n))
    if not set(map(type, names)) <= _NAME_TYPES and not all(
            name is None or isinstance(name, str) for name in names):
        raise ValueError("each name must be a str or None")
    return names


_NAME_TYPES = {str, type(None)}


def _verify_native(native, chains, names, anchors, crl_set, revocation, when, purpose,
                   max_depth, threads) -> list[Verdict]:
    """Chains that are sequences of DER go to C as they are (names are checked there); the
    others are read here first, and those that cannot be read get their verdict here."""
    faults: dict[int, Verdict] = {}
    flat = inputs.der_flat(chains)
    if flat is None:
        chains, faults = _normalised(chains)
    if names is not None and "\0" in "".join([name for name in names if name]):
        for position, name in enumerate(names):  # C would read it only up to the NUL
            if name and "\0" in name and position not in faults:
                faults[position] = _unusable(name)
    keep = [i for i in range(len(chains)) if i not in faults] if faults else None
    if keep is not None:
        chains = [chains[i] for i in keep]
        names = None if names is None else [names[i] for i in keep]
        flat = None
    verdicts = native.verify(
        chains, names, anchors, crl_set, revocation, at=when, purpose=purpose,
        max_depth=max_depth, threads=threads or (1 if len(chains) == 1 else _CPUS), flat=flat,
    ) if chains else []
    if keep is None:
        return verdicts
    merged: list = [None] * (len(keep) + len(faults))
    for position, verdict in faults.items():
        merged[position] = verdict
    for position, verdict in zip(keep, verdicts):
        merged[position] = verdict
    return merged


def _unusable(name: str) -> Verdict:
    return rejected("name_mismatch", "%r is not a usable DNS name or IP address" % name, 0, ())


def _normalised(chains) -> tuple[list, dict[int, Verdict]]:
    """Each chain as a tuple of DER, and the verdict of each that cannot be read."""
    out: list = []
    faults: dict[int, Verdict] = {}
    for position, chain in enumerate(chains):
        try:
            out.append(inputs.chain_ders(chain))
        except inputs.MalformedInput as exc:
            faults[position] = rejected("malformed", str(exc), None, ())
            out.append(())
    return out, faults


def _verify_python(twin, chains, names, anchors, crl_set, revocation, when, purpose, max_depth):
    """The Python twin, once per distinct (chain, name)."""
    if names is None:
        names = [None] * len(chains)
    verdicts: list[Verdict | None] = [None] * len(chains)
    unique: dict[tuple, int] = {}
    jobs: list[tuple[tuple[bytes, ...], str | None]] = []
    where: list[int] = []
    for position, (chain, name) in enumerate(zip(chains, names)):
        try:
            ders = inputs.chain_ders(chain)
        except inputs.MalformedInput as exc:
            verdicts[position] = rejected("malformed", str(exc), None, ())
            where.append(-1)
            continue
        if name is not None and not usable_name(name):
            verdicts[position] = _unusable(name)
            where.append(-1)
            continue
        key = (ders, name)
        slot = unique.get(key)
        if slot is None:
            slot = unique[key] = len(jobs)
            jobs.append(key)
        where.append(slot)

    results = twin.verify(
        [ders for ders, _ in jobs], [name for _, name in jobs], anchors, crl_set, revocation,
        at=when, purpose=purpose, max_depth=max_depth,
    )
    for position, slot in enumerate(where):
        if slot >= 0:
            verdicts[position] = results[slot]
    return verdicts
