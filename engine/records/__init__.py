"""Bulk TLS 1.3 record protection (RFC 8446 section 5): many records per call.

:class:`Sealer` turns application data into complete records, :class:`Opener` turns received
records back into plaintext. Each takes ``backend="native"`` (the C extension, which keeps a
pre-initialised libcrypto context per key, builds nonces in C, releases the GIL and can spread a
batch over threads) or ``backend="python"`` (cryptography's AEADs, record by record); both write
the same bytes. ``seal_into``/``seal_messages_into``/``open_into`` write into a buffer the caller
keeps and reuses.
"""

from __future__ import annotations

from ._opener import Opener
from ._sealer import Sealer
from ._suites import SUITES

__all__ = ["SUITES", "Opener", "Sealer"]
