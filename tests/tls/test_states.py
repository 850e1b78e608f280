"""Every handshake message out of place, in every state, is unexpected_message (RFC 8446 A).

The test plays a rogue peer: it takes the genuine flight of a real peer, opens it with the
handshake traffic keys, and re-seals its first messages followed by one message out of place.
"""

from __future__ import annotations

import pytest

from engine.errors import UnexpectedMessageError
from engine.records._suites import plaintext_records
from engine.tls import ClientConnection, ServerConnection
from engine.tls.codec import handshake
from engine.tls.constants import HandshakeType
from engine.tls.client import CLIENT_TRANSITIONS
from engine.tls.server import SERVER_TRANSITIONS
from engine.tls.states import ClientState, ServerState
from tests._support.pairs import client_in_state, connected_pair, server_config, server_in_state
from tests._support.pairs import client_config, sealed

ALL_TYPES = list(HandshakeType) + [3, 99, 255]  # and types no RFC defines


def wrong_message(msg_type: int) -> bytes:
    return handshake(msg_type, b"\x00\x01\x02\x03")


def refused(table, state):
    return [t for t in ALL_TYPES if (state, t) not in table]


def expect_unexpected(conn, wire: bytes):
    with pytest.raises(UnexpectedMessageError):
        conn.receive_data(wire)
    assert conn.data_to_send()  # the alert is queued
    assert conn.closed


# --- client -------------------------------------------------------------------------------


@pytest.mark.parametrize("msg_type", refused(CLIENT_TRANSITIONS, ClientState.WAIT_SH))
def test_client_wait_sh(pki, msg_type):
    client = ClientConnection(client_config(pki))
    expect_unexpected(client, plaintext_records(22, wrong_message(msg_type)))


@pytest.mark.parametrize("state,msg_type", [
    (state, t) for state in (ClientState.WAIT_EE, ClientState.WAIT_CERT_CR, ClientState.WAIT_CERT,
                             ClientState.WAIT_CV, ClientState.WAIT_FINISHED)
    for t in refused(CLIENT_TRANSITIONS, state)
])
def test_client_encrypted_states(pki, state, msg_type):
    client, sealer = client_in_state(pki, state)
    expect_unexpected(client, sealer.seal(wrong_message(msg_type), content_type=22))


@pytest.mark.parametrize("msg_type", refused(CLIENT_TRANSITIONS, ClientState.CONNECTED))
def test_client_connected(pki, msg_type):
    client, server, _, _ = connected_pair(pki)
    expect_unexpected(client, sealed(server, wrong_message(msg_type), content_type=22))


# --- server -------------------------------------------------------------------------------


@pytest.mark.parametrize("msg_type", refused(SERVER_TRANSITIONS, ServerState.WAIT_CH))
def test_server_wait_ch(pki, msg_type):
    server = ServerConnection(server_config(pki))
    expect_unexpected(server, plaintext_records(22, wrong_message(msg_type)))


@pytest.mark.parametrize("state,msg_type", [
    (state, t) for state in (ServerState.WAIT_CERT, ServerState.WAIT_CV, ServerState.WAIT_FINISHED)
    for t in refused(SERVER_TRANSITIONS, state)
])
def test_server_encrypted_states(pki, state, msg_type):
    server, sealer = server_in_state(pki, state)
    expect_unexpected(server, sealer.seal(wrong_message(msg_type), content_type=22))


@pytest.mark.parametrize("msg_type", refused(SERVER_TRANSITIONS, ServerState.CONNECTED))
def test_server_connected(pki, msg_type):
    client, server, _, _ = connected_pair(pki)
    expect_unexpected(server, sealed(client, wrong_message(msg_type), content_type=22))


def test_the_tables_name_real_handlers_and_states():
    for table, cls, states in ((CLIENT_TRANSITIONS, ClientConnection, ClientState),
                               (SERVER_TRANSITIONS, ServerConnection, ServerState)):
        assert cls._transitions is table
        for (state, _), (handler, next_states) in table.items():
            assert getattr(cls, handler.__name__) is handler
            assert state in states and next_states and next_states <= set(states)


def test_the_tables_describe_themselves():
    from engine.tls.states import describe

    text = describe(CLIENT_TRANSITIONS)
    assert "WAIT_SH        --server_hello--> _on_server_hello -> WAIT_EE | WAIT_SH" in text
    assert len(text.splitlines()) == len(CLIENT_TRANSITIONS)


def test_a_handler_that_leaves_a_state_the_table_does_not_name_is_an_internal_error(pki):
    from engine.errors import InternalError

    client, server, _, _ = connected_pair(pki)

    def stray(connection, message, events):
        connection._state = ServerState.WAIT_CH

    original = SERVER_TRANSITIONS[(ServerState.CONNECTED, HandshakeType.key_update)]
    server._transitions = dict(SERVER_TRANSITIONS)
    server._transitions[(ServerState.CONNECTED, HandshakeType.key_update)] = \
        original._replace(handler=stray)
    client.key_update()
    with pytest.raises(InternalError, match="state WAIT_CH"):
        server.receive_data(client.data_to_send())
