"""A sans-I/O TLS 1.3 client and server (RFC 8446), in the manner of h11.

Feed bytes from the transport to :meth:`receive_data` and get events back; write what
:meth:`data_to_send` returns. Record protection goes through :mod:`engine.records`, certificate
chains through :mod:`engine.verify`.
"""

from __future__ import annotations

from .client import ClientConnection
from .config import ClientConfig, ServerConfig
from .constants import CIPHER_SUITES, GROUPS, SIGNATURE_SCHEMES
from .events import AlertReceived, ApplicationData, ConnectionClosed, Event, HandshakeComplete
from .server import ServerConnection

__all__ = [
    "CIPHER_SUITES", "GROUPS", "SIGNATURE_SCHEMES",
    "ClientConnection", "ServerConnection", "ClientConfig", "ServerConfig",
    "Event", "HandshakeComplete", "ApplicationData", "AlertReceived", "ConnectionClosed",
]
