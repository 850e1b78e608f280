"""Batch certificate-chain verification.

:func:`verify_chains` checks many chains against one trust store (and optionally a set of CRLs)
in one call and returns one :class:`Verdict` per chain. Two backends give the same verdicts:
``native`` (OpenSSL's libcrypto through engine._native, the whole batch in C on several threads)
and ``python`` (pyca/cryptography's verifier with revocation checked in Python).
:func:`iter_verify` does the same for a stream of chains (an iterable, a JSON Lines file, a
directory of PEM files) in bounded memory; :mod:`engine.verify.dask` spreads it over a Dask
cluster.
"""

from __future__ import annotations

from .api import verify_chains
from .stream import iter_verify
from .verdict import REASONS, Verdict

__all__ = ["verify_chains", "iter_verify", "Verdict", "REASONS"]
