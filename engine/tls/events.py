"""Events that :meth:`Connection.receive_data` returns (frozen dataclasses with slots, h11 style)."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from ..errors import AlertDescription

if TYPE_CHECKING:
    from cryptography import x509

    from .session import Session


@dataclasses.dataclass(frozen=True, slots=True)
class Event:
    """Base of the connection events."""


@dataclasses.dataclass(frozen=True, slots=True)
class HandshakeComplete(Event):
    """The handshake finished: what was negotiated and the peer's certificate chain.

    ``peer_chain`` is the peer's verified chain, leaf first and the trust anchor last (the
    certificates as sent when verification is off; empty for a client that sent none);
    ``signature_scheme`` is the scheme of the server's CertificateVerify, on both sides;
    ``server_name`` is the name the client asked for (SNI), on both sides.

    ``resumed`` is True for a handshake that resumed a session with a ticket (RFC 8446 2.2): no
    certificate was sent, ``peer_chain`` is the one verified when the session was made and
    ``signature_scheme`` is None; ``group`` is None if the server resumed without (EC)DHE
    (psk_ke). ``early_data_accepted`` is None when the client offered no 0-RTT data, else
    whether the server accepted it (section 4.2.10).
    """

    cipher_suite: str
    group: str | None
    alpn_protocol: str | None
    server_name: str | None
    peer_chain: tuple[x509.Certificate, ...] = ()
    signature_scheme: str | None = None
    resumed: bool = False
    early_data_accepted: bool | None = None


@dataclasses.dataclass(frozen=True, slots=True, init=False)
class ApplicationData(Event):
    """Application data from the peer.

    One is made per read that brings application data, so its ``__init__`` sets the slot
    directly: a frozen dataclass's generated one goes through ``object.__setattr__``, which
    costs as much again as the rest of a small read.
    """

    data: bytes

    def __init__(self, data: bytes) -> None:
        _set_application_data(self, data)


_set_application_data = ApplicationData.__dict__["data"].__set__


@dataclasses.dataclass(frozen=True, slots=True)
class EarlyDataReceived(Event):
    """0-RTT data from the client, on a server that accepted it (RFC 8446 2.3, 4.2.10).

    It arrives before HandshakeComplete, and may be a replay of another connection's early
    data (section 8): act on it only if doing so twice is harmless.
    """

    data: bytes


@dataclasses.dataclass(frozen=True, slots=True)
class EarlyDataRejected(Event):
    """On the client: the server did not accept the 0-RTT data; ``data`` is all of it, to send
    again with ``send_data`` after HandshakeComplete if it still makes sense (4.2.10)."""

    data: bytes


@dataclasses.dataclass(frozen=True, slots=True)
class SessionTicketReceived(Event):
    """On the client: the server sent a NewSessionTicket (RFC 8446 4.6.1); ``session`` resumes
    a later connection (it is also in the ClientConfig's session cache)."""

    session: Session


@dataclasses.dataclass(frozen=True, slots=True)
class AlertReceived(Event):
    """A non-fatal alert from the peer (close_notify, user_canceled)."""

    description: AlertDescription


@dataclasses.dataclass(frozen=True, slots=True)
class ConnectionClosed(Event):
    """The peer closed the connection (close_notify) or the transport reached EOF."""
