"""The public entry point: argument checking, de-duplication, and the choice of backend."""

from __future__ import annotations

import ipaddress
import os
import re

from .. import _backend
from . import inputs, python_backend
from .revocation import index_for
from .verdict import Verdict, rejected

PURPOSES = ("server", "client")


_CPUS = os.cpu_count() or 1
_UNSET = object()
_native = _UNSET


_DNS_LABEL = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\Z")


def usable_name(name: str) -> bool:
    """Whether ``name`` is a DNS name (LDH labels, RFC 1123 2.1 and RFC 6125 6.4; an underscore
    is let through for the backends to judge) or an IP address a certificate can be issued for. Anything else (empty, a trailing dot, spaces, a
    wildcard, a scoped IPv6 address) matches no certificate: its verdict is ``name_mismatch``
    in both backends."""
    if ":" in name:
        try:
            return "%" not in name and ipaddress.ip_address(name).version == 6
        except ValueError:
            return False
    if not 0 < len(name) <= 253:
        return False
    return all(_DNS_LABEL.match(label) for label in name.split("."))


def _native_module():
    """The native verifier, or None when the extension has no batch verifier (looked up once)."""
    global _native
    if _native is _UNSET:
        try:
            from . import native_backend
        except ImportError:
            found = None
        else:
            found = native_backend if native_backend.available() else None
        _native = found
    return _native


def verify_chains(
    chains,
    trust,
    *,
    crls=(),
    at=None,
    purpose: str = "server",
    names=None,
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
    chosen = _backend.resolve(backend)
    native = _native_module() if chosen == "native" else None
    asked = backend if backend is not None else _backend.requested()
    if chosen == "native" and native is None and asked == "native":
        from ..errors import BackendError

        raise BackendError("the native extension has no batch verifier; rebuild it")
    chains = list(chains)
    if names is None:
        names = [None] * len(chains)
    elif isinstance(names, str):
        raise ValueError("names must be one name per chain (a list), not a single string")
    else:
        names = list(names)
        if len(names) != len(chains):
            raise ValueError("names has %d entries for %d chains" % (len(names), len(chains)))
        for name in names:
            if name is not None and not isinstance(name, str):
                raise ValueError("each name must be a str or None")
    when = inputs.verification_time(at)
    anchors = inputs.trust_ders(trust)
    crl_set = inputs.crl_ders(crls)
    revocation = index_for(crl_set) if crl_set else None

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
            verdicts[position] = rejected(
                "name_mismatch", "%r is not a usable DNS name or IP address" % name, 0, ())
            where.append(-1)
            continue
        key = (ders, name)
        slot = unique.get(key)
        if slot is None:
            slot = unique[key] = len(jobs)
            jobs.append(key)
        where.append(slot)

    job_chains = [ders for ders, _ in jobs]
    job_names = [name for _, name in jobs]
    if native is not None:
        results = native.verify(
            job_chains, job_names, anchors, crl_set, revocation,
            at=when, purpose=purpose, max_depth=max_depth,
            threads=threads or (1 if len(job_chains) == 1 else _CPUS),
        )
    else:
        results = python_backend.verify(
            job_chains, job_names, anchors, revocation,
            at=when, purpose=purpose, max_depth=max_depth,
        )
    for position, slot in enumerate(where):
        if slot >= 0:
            verdicts[position] = results[slot]
    return verdicts  # type: ignore[return-value]
