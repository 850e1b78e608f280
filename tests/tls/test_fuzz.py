"""Random and mutated transcripts: only typed engine errors come out, with an alert queued."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.errors import EngineError, InternalError, PeerAlertError, ProtocolError
from engine.tls import ClientConnection, ServerConnection
from tests._support.pairs import client_config, connected_pair, handshake, server_config, transfer

SETTINGS = settings(max_examples=int(__import__("os").environ.get("TLS_FUZZ_EXAMPLES", "150")), deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


def retry_stage(pki, name):
    """Stages of a handshake with a HelloRetryRequest and a hybrid ML-KEM group."""
    client = ClientConnection(client_config(pki))
    server = ServerConnection(server_config(pki, groups=("X25519MLKEM768",)))
    transfer(client, server)
    if name == "retry_request":
        return client, server.data_to_send()
    transfer(server, client)
    if name == "second_client_hello":
        return server, client.data_to_send()
    transfer(client, server)
    return client, server.data_to_send()  # the ML-KEM ServerHello and flight


_RESUMPTION: dict = {}


def resumed_stage(pki, name):
    """Stages of a resumed handshake with 0-RTT data, and the tickets after one."""
    if pki not in _RESUMPTION:
        client_cfg = client_config(pki, session_cache_size=0)
        server_cfg = server_config(pki, max_early_data=4096, anti_replay=False)
        first = ClientConnection(client_cfg)
        handshake(first, ServerConnection(server_cfg))
        _RESUMPTION[pki] = (client_cfg, server_cfg, first.session)
    client_cfg, server_cfg, session = _RESUMPTION[pki]
    client = ClientConnection(client_cfg, session=session, early_data=b"early " * 20)
    server = ServerConnection(server_cfg)
    if name == "resumed_client_hello":
        return server, client.data_to_send()
    transfer(client, server)
    if name == "resumed_server_flight":
        return client, server.data_to_send()
    transfer(server, client)
    if name == "resumed_client_flight":
        return server, client.data_to_send()
    transfer(client, server)
    return client, server.data_to_send()  # the NewSessionTicket


def stage(pki, name):
    """A receiver in a given state and the genuine bytes it is about to read."""
    if name in ("retry_request", "second_client_hello", "hybrid_server_flight"):
        return retry_stage(pki, name)
    if name.startswith("resumed_") or name == "tickets":
        return resumed_stage(pki, name)
    client = ClientConnection(client_config(pki, certificate=pki.client))
    server = ServerConnection(server_config(pki, verify_client="request", trust=pki.trust))
    if name == "client_hello":
        return server, client.data_to_send()
    transfer(client, server)
    if name == "server_flight":
        return client, server.data_to_send()
    transfer(server, client)
    if name == "client_flight":
        return server, client.data_to_send()
    transfer(client, server)
    if name == "client_data":
        client.send_data(b"hello" * 50)
        client.key_update()
        client.close()
        return server, client.data_to_send()
    server.send_data(b"world" * 50)
    server.key_update(request_peer=False)
    return client, server.data_to_send()


mutation = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 1 << 16), st.integers(1, 255)),
    st.tuples(st.just("truncate"), st.integers(0, 1 << 16), st.just(0)),
    st.tuples(st.just("insert"), st.integers(0, 1 << 16), st.binary(min_size=1, max_size=8)),
    st.tuples(st.just("duplicate"), st.integers(0, 1 << 16), st.integers(1, 600)),
    st.tuples(st.just("delete"), st.integers(0, 1 << 16), st.integers(1, 40)),
)


def mutate(data: bytes, mutations) -> bytes:
    buf = bytearray(data)
    for kind, where, arg in mutations:
        pos = where % (len(buf) + 1)
        if kind == "flip" and pos < len(buf):
            buf[pos] ^= arg
        elif kind == "truncate":
            del buf[pos:]
        elif kind == "insert":
            buf[pos:pos] = arg
        elif kind == "duplicate":
            buf[pos:pos] = buf[pos:pos + arg]
        elif kind == "delete":
            del buf[pos:pos + arg]
    return bytes(buf)


def feed(conn, data: bytes, splits) -> None:
    """Feed in chunks; only typed errors may escape, and a ProtocolError leaves an alert."""
    cuts = sorted({s % (len(data) + 1) for s in splits}) + [len(data)]
    start = 0
    try:
        for cut in cuts:
            if cut > start:
                conn.receive_data(data[start:cut])
                conn.data_to_send()
                start = cut
    except ProtocolError as exc:
        assert not isinstance(exc, InternalError), repr(exc.__cause__)
        assert conn.data_to_send(), "no alert queued for %r" % exc
        assert conn.closed
    except PeerAlertError:
        assert conn.closed
    except EngineError as exc:  # pragma: no cover - any other error type is a defect
        pytest.fail("unexpected error type %r" % exc)


STAGES = ["client_hello", "server_flight", "client_flight", "client_data", "server_data",
          "retry_request", "second_client_hello", "hybrid_server_flight",
          "resumed_client_hello", "resumed_server_flight", "resumed_client_flight", "tickets"]


@pytest.mark.parametrize("name", STAGES)
@SETTINGS
@given(mutations=st.lists(mutation, min_size=1, max_size=4),
       splits=st.lists(st.integers(0, 1 << 16), max_size=4))
def test_mutated_flights(pki, name, mutations, splits):
    receiver, data = stage(pki, name)
    feed(receiver, mutate(data, mutations), splits)


@SETTINGS
@given(data=st.binary(max_size=2000), to_server=st.booleans())
def test_random_bytes_to_a_fresh_connection(pki, data, to_server):
    conn = ServerConnection(server_config(pki)) if to_server else ClientConnection(client_config(pki))
    conn.data_to_send()
    feed(conn, data, [])


@SETTINGS
@given(data=st.binary(min_size=1, max_size=300))
def test_random_records_after_the_handshake(pki, data):
    client, server, _, _ = connected_pair(pki)
    feed(server, bytes((data[0] % 4 + 20, 3, 3)) + len(data).to_bytes(2, "big") + data, [])


@SETTINGS
@given(data=st.binary(max_size=400))
def test_random_session_bytes_are_a_local_error_or_a_session(data):
    from engine.errors import LocalProtocolError
    from engine.tls import Session

    for candidate in (data, b"ETLS\x01" + data):
        try:
            Session.from_bytes(candidate)
        except LocalProtocolError:
            pass


@SETTINGS
@given(data=st.binary(max_size=300))
def test_random_ticket_state_is_a_decode_error_or_a_state(data):
    from engine.errors import DecodeError
    from engine.tls.tickets import TicketState

    try:
        TicketState.from_bytes(data)
    except DecodeError:
        pass
