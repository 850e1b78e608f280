"""What a batch verifier provides: the seam between engine.verify and its two backends.

engine._backend.verifier picks the module: :mod:`._native` (one call into
csrc/engine_verify.c per batch) or :mod:`._python` (cryptography's path validation and the
project's rules in Python). Both give the same verdicts (RFC 5280 section 6 path validation, the
CA/Browser Forum profile and the CRL checks of section 6.3) for the same arguments.
"""

from __future__ import annotations

import datetime
from typing import Protocol, Sequence, runtime_checkable

from .revocation import RevocationIndex
from .verdict import Verdict


@runtime_checkable
class VerifierBackend(Protocol):
    """A verifier module: ``engine.verify._native`` or ``engine.verify._python``."""

    NAME: str  # "native" or "python"

    def prepare(self, anchors: tuple[bytes, ...], crls: tuple[bytes, ...]) -> object:
        """Build (once, then kept) what verifying against these anchors and CRLs needs."""
        ...

    def verify(self, chains: Sequence[Sequence[bytes]], names: Sequence[str | None] | None,
               anchors: tuple[bytes, ...], crls: tuple[bytes, ...],
               revocation: RevocationIndex | None, *, at: datetime.datetime, purpose: str,
               max_depth: int | None, threads: int = 1, options: int = 0,
               flat: list[bytes] | None = None) -> list[Verdict]:
        """One verdict per chain (each a sequence of DER, leaf first), in order.

        ``names``: None or one name (or None) per chain. ``crls``: the CRLs' DER, and
        ``revocation`` their index (None without CRLs). ``threads``: the native batch's worker
        threads. ``options``: ENGINE_VERIFY_OPENSSL_* bits of csrc/engine_verify.h, for
        measuring only (the Python twin takes none). ``flat``: every certificate of every
        chain in order, when the caller has that list already.
        """
        ...
