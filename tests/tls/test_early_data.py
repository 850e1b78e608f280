"""0-RTT data (RFC 8446 2.3, 4.2.10, section 8): a server that accepts none skips what a client
sends of it; one configured for it delivers it as its own event, once per ClientHello."""

from __future__ import annotations

import os

import pytest

from engine import errors
from engine.errors import BadRecordMacError
from engine.records._suites import plaintext_records
from engine.tls import (
    ApplicationData, ClientConnection, EarlyDataReceived, EarlyDataRejected, HandshakeComplete,
    ServerConnection, TicketKeys, codec,
)
from engine.tls.constants import ExtensionType
from engine.tls.replay import AntiReplay
from engine.tls.server import EARLY_DATA_SKIP
from engine.tls.states import ServerState
from tests._support.pairs import client_config, handshake, sealed, server_config, transfer


def fake_early_data(count: int, size: int = 200) -> bytes:
    """Protected records under keys the server cannot have (0-RTT keys of another server)."""
    return b"".join(b"\x17\x03\x03" + size.to_bytes(2, "big") + os.urandom(size)
                    for _ in range(count))


def client_offering_early_data(pki):
    """A client whose ClientHello carries early_data (as if it held a ticket)."""
    client = ClientConnection(client_config(pki))
    client.data_to_send()
    client._hello.other_extensions.append((ExtensionType.early_data, b""))
    client._client_hello = codec.build_client_hello(client._hello)
    return client, plaintext_records(22, client._client_hello, 0x0301)


def test_early_data_is_skipped_and_the_handshake_completes(pki):
    client, hello = client_offering_early_data(pki)
    server = ServerConnection(server_config(pki))
    assert server.receive_data(hello + fake_early_data(5)) == []
    handshake(client, server)
    assert client.handshake_complete and server.handshake_complete


def test_early_data_is_skipped_before_a_second_client_hello(pki):
    client, hello = client_offering_early_data(pki)
    server = ServerConnection(server_config(pki, groups=("secp256r1",)))
    assert server.receive_data(hello + fake_early_data(3)) == []  # HelloRetryRequest
    client.receive_data(server.data_to_send())
    handshake(client, server)
    assert client.handshake_complete and server.handshake_complete


def test_early_data_over_the_budget_is_bad_record_mac(pki):
    _, hello = client_offering_early_data(pki)
    server = ServerConnection(server_config(pki))
    with pytest.raises(BadRecordMacError):
        server.receive_data(hello + fake_early_data(EARLY_DATA_SKIP // 16000 + 2, 16000))


def test_undecryptable_records_without_early_data_are_bad_record_mac(pki):
    client = ClientConnection(client_config(pki))
    server = ServerConnection(server_config(pki))
    with pytest.raises(BadRecordMacError):
        server.receive_data(client.data_to_send() + fake_early_data(1))


# --- 0-RTT data a server accepts (RFC 8446 2.3, 4.2.10, section 8) ------------------------------

def ticket(pki, client_cfg, server_cfg):
    """A session from a full handshake with ``server_cfg``."""
    client, server = ClientConnection(client_cfg), ServerConnection(server_cfg)
    handshake(client, server)
    return client.session


def zero_rtt(client_cfg, server_cfg, session, data=b"GET / HTTP/1.1\r\n\r\n"):
    client = ClientConnection(client_cfg, session=session, early_data=data)
    server = ServerConnection(server_cfg)
    client_events, server_events = handshake(client, server)
    assert client.handshake_complete and server.handshake_complete
    return client, server, client_events, server_events


def completed(events):
    return next(e for e in events if isinstance(e, HandshakeComplete))


@pytest.fixture
def early(pki):
    """A client config and a server accepting 1000 bytes of 0-RTT data, with a session."""
    client_cfg = client_config(pki, session_cache_size=0)
    server_cfg = server_config(pki, max_early_data=1000)
    return client_cfg, server_cfg, ticket(pki, client_cfg, server_cfg)


def test_early_data_is_an_event_before_the_handshake_completes(early):
    client_cfg, server_cfg, session = early
    assert session.max_early_data == 1000
    client, server, client_events, server_events = zero_rtt(client_cfg, server_cfg, session)
    assert server_events[0] == EarlyDataReceived(b"GET / HTTP/1.1\r\n\r\n")
    assert completed(server_events).early_data_accepted is True
    assert completed(client_events).early_data_accepted is True
    assert not any(isinstance(e, EarlyDataRejected) for e in client_events)
    client.send_data(b"after")
    assert server.receive_data(client.data_to_send()) == [ApplicationData(b"after")]


def test_more_early_data_may_follow_until_the_server_answers(early):
    client_cfg, server_cfg, session = early
    client = ClientConnection(client_cfg, session=session, early_data=b"one ")
    assert client.early_data_open
    client.send_early_data(b"two")
    server = ServerConnection(server_cfg)
    events = transfer(client, server)
    assert b"".join(e.data for e in events if isinstance(e, EarlyDataReceived)) == b"one two"
    assert server._state is ServerState.WAIT_EOED
    transfer(server, client)
    assert not client.early_data_open
    with pytest.raises(errors.LocalProtocolError):
        client.send_early_data(b"late")
    assert completed(transfer(client, server)).early_data_accepted


def test_early_data_beyond_the_ticket_allowance_is_refused_locally(early):
    client_cfg, _, session = early
    client = ClientConnection(client_cfg, session=session, early_data=b"x" * 900)
    with pytest.raises(errors.LocalProtocolError):
        client.send_early_data(b"y" * 101)


def test_too_much_early_data_for_the_ticket_is_not_sent_and_comes_back(early):
    client_cfg, server_cfg, session = early
    data = b"z" * 1001
    client, _, client_events, server_events = zero_rtt(client_cfg, server_cfg, session, data)
    assert client_events[0] == EarlyDataRejected(data)
    assert completed(client_events).resumed and not completed(client_events).early_data_accepted
    assert completed(server_events).early_data_accepted is None  # none offered


def test_a_server_without_early_data_refuses_it_and_the_client_gets_it_back(pki, early):
    client_cfg, server_cfg, session = early
    strict = server_config(pki, ticket_keys=server_cfg.ticket_keys)  # max_early_data 0
    client, server, client_events, server_events = zero_rtt(client_cfg, strict, session, b"data")
    assert EarlyDataRejected(b"data") in client_events
    done = completed(client_events)
    assert done.resumed and done.early_data_accepted is False
    assert completed(server_events).early_data_accepted is False
    assert not any(isinstance(e, EarlyDataReceived) for e in server_events)
    client.send_data(b"data")
    assert server.receive_data(client.data_to_send()) == [ApplicationData(b"data")]


def test_early_data_of_a_full_handshake_is_refused_and_skipped(pki, early):
    client_cfg, _, session = early
    other = server_config(pki, max_early_data=1000)  # other ticket keys
    _, _, client_events, server_events = zero_rtt(client_cfg, other, session, b"data")
    assert EarlyDataRejected(b"data") in client_events
    assert not completed(client_events).resumed


def test_early_data_after_a_hello_retry_request_is_refused(pki):
    client_cfg = client_config(pki, session_cache_size=0)
    server_cfg = server_config(pki, max_early_data=1000, groups=("secp256r1",))
    session = ticket(pki, client_cfg, server_cfg)
    _, _, client_events, server_events = zero_rtt(client_cfg, server_cfg, session, b"data")
    assert EarlyDataRejected(b"data") in client_events and completed(client_events).resumed
    assert not any(isinstance(e, EarlyDataReceived) for e in server_events)


def test_early_data_for_another_alpn_protocol_is_refused(pki):
    client_cfg = client_config(pki, session_cache_size=0, alpn_protocols=("h2", "http/1.1"))
    keys = TicketKeys()
    h2 = server_config(pki, max_early_data=1000, alpn_protocols=("h2",), ticket_keys=keys)
    http11 = server_config(pki, max_early_data=1000, alpn_protocols=("http/1.1",),
                           ticket_keys=keys)
    session = ticket(pki, client_cfg, h2)
    assert session.alpn_protocol == "h2"
    _, _, client_events, _ = zero_rtt(client_cfg, http11, session, b"data")
    assert completed(client_events).early_data_accepted is False
    assert completed(client_events).alpn_protocol == "http/1.1"


def test_a_replayed_client_hello_gets_no_early_data(early):
    client_cfg, server_cfg, session = early
    client = ClientConnection(client_cfg, session=session, early_data=b"pay once")
    first_flight = client.data_to_send()
    first, replay = ServerConnection(server_cfg), ServerConnection(server_cfg)
    assert EarlyDataReceived(b"pay once") in first.receive_data(first_flight)
    assert replay.receive_data(first_flight) == []  # the same binder: recorded, refused
    assert replay._early_data_accepted is False


def test_a_client_hello_out_of_the_freshness_window_gets_no_early_data(pki, early):
    client_cfg, server_cfg, session = early
    session.received -= 60  # the client thinks the ticket is a minute older than it is
    _, _, _, server_events = zero_rtt(client_cfg, server_cfg, session, b"data")
    assert completed(server_events).resumed
    assert completed(server_events).early_data_accepted is False


def test_the_strike_register_refuses_when_full_and_forgets_after_two_windows():
    now = [0.0]
    guard = AntiReplay(window=10, capacity=2, clock=lambda: now[0])
    assert guard.accept(b"a") and guard.accept(b"b")
    assert not guard.accept(b"a") and not guard.accept(b"c")  # seen; full
    now[0] = 20.5
    assert guard.accept(b"c") and guard.accept(b"a") and len(guard) == 2
    assert guard.fresh(10_000, 1_000) and not guard.fresh(12_000, 1_000)


def test_anti_replay_can_be_turned_off(pki, early):
    client_cfg, server_cfg, session = early
    trusting = server_config(pki, max_early_data=1000, ticket_keys=server_cfg.ticket_keys,
                             anti_replay=False)
    client = ClientConnection(client_cfg, session=session, early_data=b"again")
    flight = client.data_to_send()
    for _ in range(2):
        assert EarlyDataReceived(b"again") in ServerConnection(trusting).receive_data(flight)


def test_more_early_data_than_the_server_allows_is_unexpected_message(pki, early):
    client_cfg, server_cfg, session = early
    stingy = server_config(pki, max_early_data=10, ticket_keys=server_cfg.ticket_keys)
    client = ClientConnection(client_cfg, session=session, early_data=b"x" * 11)
    server = ServerConnection(stingy)
    with pytest.raises(errors.UnexpectedMessageError):
        server.receive_data(client.data_to_send())


def test_a_handshake_message_other_than_end_of_early_data_is_unexpected(early):
    client_cfg, server_cfg, session = early
    client = ClientConnection(client_cfg, session=session, early_data=b"data")
    server = ServerConnection(server_cfg)
    transfer(client, server)
    finished = codec.handshake(20, bytes(32))
    with pytest.raises(errors.UnexpectedMessageError):
        server.receive_data(sealed(client, finished, content_type=22))  # under the early key


def test_early_data_on_the_wire_is_protected_records_after_a_change_cipher_spec(early):
    client_cfg, _, session = early
    client = ClientConnection(client_cfg, session=session, early_data=b"secret request")
    wire = client.data_to_send()
    assert b"secret request" not in wire
    types = []
    pos = 0
    while pos < len(wire):
        types.append(wire[pos])
        pos += 5 + int.from_bytes(wire[pos + 3:pos + 5], "big")
    assert types == [22, 20, 23]  # ClientHello, change_cipher_spec (D.4), 0-RTT data
