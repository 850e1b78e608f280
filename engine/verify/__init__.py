"""Batch certificate-chain verification.

:func:`verify_chains` checks many chains against one trust store (and optionally a set of CRLs)
in one call and returns one :class:`Verdict` per chain. Two backends give the same verdicts:
``native`` (OpenSSL's libcrypto through engine._native, the whole batch in C on several threads)
and ``python`` (pyca/cryptography's verifier with revocation checked in Python).
"""

from __future__ import annotations

from .api import verify_chains
from .verdict import REASONS, Verdict

__all__ = ["verify_chains", "Verdict", "REASONS"]
