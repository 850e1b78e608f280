"""TLS record protection (RFC 8446 section 5) on one record core.

:class:`Sealer` turns application data into complete records, :class:`Opener` turns received
records back into plaintext, many records per call. Each takes ``backend="native"`` (the C
extension, which keeps a pre-initialised libcrypto context and the sequence number in a key
object, builds nonces in C, releases the GIL and can spread a batch over threads) or
``backend="python"`` (cryptography's AEADs, record by record); both write the same bytes.
``seal_into``/``seal_messages_into``/``open_into`` write into a buffer the caller keeps and
reuses.

:func:`RecordLayer` is the record layer of one connection, on the same key objects and batch
calls: it owns both directions' keys, the records waiting to be sent and the bytes received and
not yet read, so that a connection makes one call per write and one per read.
"""

from __future__ import annotations

from ._opener import Opener
from ._sealer import Sealer
from .._backend import record_layer as RecordLayer
from ._suites import SUITES, Stop

__all__ = ["SUITES", "Opener", "RecordLayer", "Sealer", "Stop"]
