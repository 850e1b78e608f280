"""Events that :meth:`Connection.receive_data` returns (frozen dataclasses with slots, h11 style)."""

from __future__ import annotations

import dataclasses

from ..errors import AlertDescription


@dataclasses.dataclass(frozen=True, slots=True)
class Event:
    """Base of the connection events."""


@dataclasses.dataclass(frozen=True, slots=True)
class HandshakeComplete(Event):
    """The handshake finished: what was negotiated and the peer's certificate chain.

    ``peer_chain`` is the peer's verified chain, leaf first and the trust anchor last (the
    certificates as sent when verification is off; empty for a client that sent none); ``signature_scheme`` is the scheme of the server's CertificateVerify, on
    both sides; ``server_name`` is the name the client asked for (SNI), on both sides.
    """

    cipher_suite: str
    group: str
    alpn_protocol: str | None
    server_name: str | None
    peer_chain: tuple = ()
    signature_scheme: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class ApplicationData(Event):
    """Application data from the peer."""

    data: bytes


@dataclasses.dataclass(frozen=True, slots=True)
class AlertReceived(Event):
    """A non-fatal alert from the peer (close_notify, user_canceled)."""

    description: AlertDescription


@dataclasses.dataclass(frozen=True, slots=True)
class ConnectionClosed(Event):
    """The peer closed the connection (close_notify) or the transport reached EOF."""
