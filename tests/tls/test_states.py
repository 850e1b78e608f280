"""Every handshake message out of place, in every state, is unexpected_message (RFC 8446 A).

The test plays a rogue peer: it takes the genuine flight of a real peer, opens it with the
handshake traffic keys, and re-seals its first messages followed by one message out of place.
"""

from __future__ import annotations

import pytest

from engine.errors import UnexpectedMessageError
from engine.records import Opener, Sealer
from engine.tls import ClientConnection, ServerConnection
from engine.tls.codec import handshake
from engine.tls.constants import HandshakeType
from engine.tls.key_schedule import traffic_key
from engine.tls.record_layer import plaintext_records
from engine.tls.states import CLIENT_TRANSITIONS, SERVER_TRANSITIONS, ClientState, ServerState
from tls_pairs import client_config, connected_pair, server_config, transfer

ALL_TYPES = list(HandshakeType)


def records(wire: bytes):
    """Split wire bytes into (outer content type, whole record)."""
    out, pos = [], 0
    while pos < len(wire):
        length = int.from_bytes(wire[pos + 3:pos + 5], "big")
        out.append((wire[pos], wire[pos:pos + 5 + length]))
        pos += 5 + length
    return out


def messages(data: bytes):
    out, pos = [], 0
    while pos < len(data):
        length = int.from_bytes(data[pos + 1:pos + 4], "big")
        out.append(data[pos:pos + 4 + length])
        pos += 4 + length
    return out


def open_all(conn, secret: bytes, wire: bytes):
    key, iv = traffic_key(conn.suite, secret)
    opener = Opener(conn.suite.name, key, iv)
    protected = b"".join(r for t, r in records(wire) if t == 23)
    data = b""
    while protected:
        segments, used = opener.open(protected)
        data += b"".join(p for t, p in segments if t == 22)
        protected = protected[used:]
    return messages(data)


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


def client_in_state(pki, state):
    """A client that read the server's flight up to ``state``; and a sealer to go on with."""
    client = ClientConnection(client_config(pki, certificate=pki.client))
    server = ServerConnection(server_config(pki, verify_client="request", trust=pki.trust))
    transfer(client, server)
    wire = server.data_to_send()
    plain = b"".join(r for t, r in records(wire) if t != 23)
    client.receive_data(plain)  # ServerHello and change_cipher_spec
    flight = open_all(client, client._server_hs, wire)
    count = {ClientState.WAIT_EE: 0, ClientState.WAIT_CERT_CR: 1, ClientState.WAIT_CERT: 2,
             ClientState.WAIT_CV: 3, ClientState.WAIT_FINISHED: 4}[state]
    sealer = Sealer(client.suite.name, *traffic_key(client.suite, client._server_hs))
    if count:
        client.receive_data(sealer.seal(b"".join(flight[:count]), content_type=22))
    assert client._state is state
    return client, sealer


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
    expect_unexpected(client, server._records.sealer.seal(wrong_message(msg_type), content_type=22))


# --- server -------------------------------------------------------------------------------


@pytest.mark.parametrize("msg_type", refused(SERVER_TRANSITIONS, ServerState.WAIT_CH))
def test_server_wait_ch(pki, msg_type):
    server = ServerConnection(server_config(pki))
    expect_unexpected(server, plaintext_records(22, wrong_message(msg_type)))


def server_in_state(pki, state):
    client = ClientConnection(client_config(pki, certificate=pki.client))
    server = ServerConnection(server_config(pki, verify_client="request", trust=pki.trust))
    transfer(client, server)
    transfer(server, client)
    wire = client.data_to_send()
    flight = open_all(server, server._client_hs, wire)
    count = {ServerState.WAIT_CERT: 0, ServerState.WAIT_CV: 1, ServerState.WAIT_FINISHED: 2}[state]
    sealer = Sealer(server.suite.name, *traffic_key(server.suite, server._client_hs))
    if count:
        server.receive_data(sealer.seal(b"".join(flight[:count]), content_type=22))
    assert server._state is state
    return server, sealer


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
    expect_unexpected(server, client._records.sealer.seal(wrong_message(msg_type), content_type=22))


def test_the_tables_name_real_handlers():
    for table, cls in ((CLIENT_TRANSITIONS, ClientConnection), (SERVER_TRANSITIONS, ServerConnection)):
        for name in table.values():
            assert callable(getattr(cls, "_on_" + name))
