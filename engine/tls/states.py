"""The handshake state machines as data (RFC 8446 appendix A).

Each role's table maps ``(state, handshake message type)`` to a :class:`Transition`: the
handler function that accepts the message and the states the connection may be in after it. A
pair that is not in the table is a message out of place (unexpected_message). The tables stand at
the foot of client.py (``CLIENT_TRANSITIONS``) and server.py (``SERVER_TRANSITIONS``), beside the
handlers they name; the tests walk them to check that every other message is refused in every
state, and :func:`describe` prints them.
"""

from __future__ import annotations

import enum
from typing import Any, Callable, NamedTuple

from .constants import HandshakeType as HT


class ClientState(enum.Enum):
    """Client states of RFC 8446 appendix A.1."""

    WAIT_SH = "WAIT_SH"  # ClientHello sent (first or second)
    WAIT_EE = "WAIT_EE"
    WAIT_CERT_CR = "WAIT_CERT_CR"
    WAIT_CERT = "WAIT_CERT"  # after CertificateRequest
    WAIT_CV = "WAIT_CV"
    WAIT_FINISHED = "WAIT_FINISHED"
    CONNECTED = "CONNECTED"
    CLOSED = "CLOSED"


class ServerState(enum.Enum):
    """Server states of RFC 8446 appendix A.2."""

    WAIT_CH = "WAIT_CH"  # also after a HelloRetryRequest
    WAIT_EOED = "WAIT_EOED"  # 0-RTT data accepted: reading it until EndOfEarlyData
    WAIT_CERT = "WAIT_CERT"  # CertificateRequest sent
    WAIT_CV = "WAIT_CV"
    WAIT_FINISHED = "WAIT_FINISHED"
    CONNECTED = "CONNECTED"
    CLOSED = "CLOSED"


class Transition(NamedTuple):
    """What a handshake message does in a state: ``handler(connection, message, events)``
    takes it, and the connection is then in one of ``next_states``."""

    handler: Callable[[Any, bytes, list], None]
    next_states: frozenset


def transition(handler: Callable[[Any, bytes, list], None], *next_states) -> Transition:
    return Transition(handler, frozenset(next_states))


def describe(transitions: dict) -> str:
    """The table as text, one ``STATE --message--> handler -> NEXT | NEXT`` line per accepted
    message."""
    lines = []
    for (state, msg_type), (handler, next_states) in transitions.items():
        lines.append("%-14s --%s--> %s -> %s" % (
            state.name, HT(msg_type).name, handler.__name__,
            " | ".join(sorted(s.name for s in next_states))))
    return "\n".join(lines)
