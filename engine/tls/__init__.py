"""A sans-I/O TLS 1.3 client and server (RFC 8446), in the manner of h11.

A connection never touches a socket: feed it the bytes that arrived and act on the events it
returns, then write out what :meth:`data_to_send` gives::

    conn = ClientConnection(ClientConfig(trust=trust, server_name="example.com"))
    sock.sendall(conn.data_to_send())                  # the ClientHello
    while not conn.handshake_complete:
        events = conn.receive_data(sock.recv(65536))   # b"" at end of file
        sock.sendall(conn.data_to_send())
    conn.send_data(b"hello")
    sock.sendall(conn.data_to_send())

A fault of the peer queues its alert and raises a :class:`~engine.errors.ProtocolError`
subclass (send ``data_to_send()`` before closing the socket); a fatal alert from the peer raises
:class:`~engine.errors.PeerAlertError`. The connection is closed after either, and a further
``receive_data`` raises :class:`~engine.errors.LocalProtocolError`.

Modules: ``wire`` (reading and writing the presentation language), ``extensions`` and
``codec`` (the messages), ``key_schedule``, ``key_exchange``, ``signatures``, ``certificates``
(our credentials, the peer's chain), ``resumption`` (PSKs and tickets in the handshake),
``tickets`` (the server's sealed tickets and their keys), ``session`` (the client's sessions),
``replay`` (0-RTT anti-replay), ``record_layer`` (framing around engine.records),
``states`` (the state tables), ``connection``, ``client``, ``server``, ``config``, ``events``,
``keylog``. Record protection goes through :mod:`engine.records`, chain verification through
:mod:`engine.verify`.
"""

from __future__ import annotations

from .client import ClientConnection
from .config import ClientConfig, ServerConfig
from .constants import CIPHER_SUITES, GROUPS, SIGNATURE_SCHEMES
from .events import (
    AlertReceived, ApplicationData, ConnectionClosed, EarlyDataReceived, EarlyDataRejected, Event,
    HandshakeComplete, SessionTicketReceived,
)
from .replay import AntiReplay
from .server import ServerConnection
from .session import Session, SessionCache
from .tickets import TicketKeys

__all__ = [
    "CIPHER_SUITES", "GROUPS", "SIGNATURE_SCHEMES",
    "ClientConnection", "ServerConnection", "ClientConfig", "ServerConfig",
    "Event", "HandshakeComplete", "ApplicationData", "AlertReceived", "ConnectionClosed",
    "SessionTicketReceived", "EarlyDataReceived", "EarlyDataRejected",
    "Session", "SessionCache", "TicketKeys", "AntiReplay",
]
