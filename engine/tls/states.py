"""The handshake state machines as data (RFC 8446 appendix A).

Each table maps ``(state, handshake message type)`` to the name of the handler that accepts the
message; a pair that is not in the table is a message out of place (unexpected_message). The
handlers, in client.py and server.py, decide the next state. The tables are what the tests
walk to check that every other message is refused in every state.
"""

from __future__ import annotations

import enum

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


CLIENT_TRANSITIONS = {
    (ClientState.WAIT_SH, HT.server_hello): "server_hello",
    (ClientState.WAIT_EE, HT.encrypted_extensions): "encrypted_extensions",
    (ClientState.WAIT_CERT_CR, HT.certificate_request): "certificate_request",
    (ClientState.WAIT_CERT_CR, HT.certificate): "certificate",
    (ClientState.WAIT_CERT, HT.certificate): "certificate",
    (ClientState.WAIT_CV, HT.certificate_verify): "certificate_verify",
    (ClientState.WAIT_FINISHED, HT.finished): "finished",
    (ClientState.CONNECTED, HT.new_session_ticket): "new_session_ticket",
    (ClientState.CONNECTED, HT.key_update): "key_update",
}

SERVER_TRANSITIONS = {
    (ServerState.WAIT_CH, HT.client_hello): "client_hello",
    (ServerState.WAIT_EOED, HT.end_of_early_data): "end_of_early_data",
    (ServerState.WAIT_CERT, HT.certificate): "certificate",
    (ServerState.WAIT_CV, HT.certificate_verify): "certificate_verify",
    (ServerState.WAIT_FINISHED, HT.finished): "finished",
    (ServerState.CONNECTED, HT.key_update): "key_update",
}


def handler_table(cls, transitions) -> dict:
    """Resolve handler names to ``cls._on_<name>`` functions, once per class."""
    return {key: getattr(cls, "_on_" + name) for key, name in transitions.items()}


def describe(transitions) -> str:
    """The table as text, one ``STATE --message--> handler`` line per accepted message."""
    lines = []
    for (state, msg_type), name in transitions.items():
        lines.append("%-14s --%s--> _on_%s" % (state.name, HT(msg_type).name, name))
    return "\n".join(lines)

