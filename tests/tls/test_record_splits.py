"""A connection reads the same events however the transport cuts the bytes (RFC 8446 section
5.1: records are independent of the transport's segments), and writes pile up in order."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.tls.events import ApplicationData, HandshakeComplete
from tests._support.pairs import client_config, connected_pair, server_config

SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])


def merged_data(events) -> bytes:
    assert all(isinstance(e, ApplicationData) for e in events)
    return b"".join(e.data for e in events)


@SETTINGS
@given(actions=st.lists(st.one_of(
    st.tuples(st.just("data"), st.binary(min_size=1, max_size=40000)),
    st.tuples(st.just("key_update"), st.booleans())), min_size=1, max_size=8),
    cuts=st.lists(st.integers(0, 200000), max_size=25), bytewise=st.booleans())
def test_any_cut_of_the_stream_gives_the_data_sent(pki, actions, cuts, bytewise):
    client, server, _, _ = connected_pair(pki)
    sent = b""
    for action, value in actions:
        if action == "data":
            client.send_data(value)
            sent += value
        else:
            client.key_update(request_peer=value)
    wire = client.data_to_send()
    if bytewise and len(wire) < 3000:
        cuts = list(range(len(wire)))
    cuts = sorted(c for c in cuts if c < len(wire))
    events = []
    for a, b in zip([0] + cuts, cuts + [len(wire)]):
        if b > a:
            events += server.receive_data(wire[a:b])
    assert merged_data(events) == sent
    server.send_data(b"reply")  # and the server's own keys moved on as asked
    assert merged_data(client.receive_data(server.data_to_send())) == b"reply"


def test_a_handshake_fed_one_byte_at_a_time_completes(pki):
    from engine.tls import ClientConnection, ServerConnection

    client = ClientConnection(client_config(pki))
    server = ServerConnection(server_config(pki))
    done = []
    for _ in range(4):
        for sender, receiver in ((client, server), (server, client)):
            data = sender.data_to_send()
            for i in range(len(data)):
                done += receiver.receive_data(data[i:i + 1])
    assert sum(isinstance(e, HandshakeComplete) for e in done) == 2


def test_writes_before_a_flush_come_out_as_one_buffer(pki):
    client, server, _, _ = connected_pair(pki)
    for message in (b"a", b"bb", b"ccc"):
        client.send_data(message)
    wire = client.data_to_send()
    assert client.data_to_send() == b"" and len(wire) == 6 + 3 * 22
    assert merged_data(server.receive_data(wire)) == b"abbccc"


@pytest.mark.parametrize("kind", [bytearray, memoryview])
def test_mutable_buffers_are_sent_and_received_like_bytes(pki, kind):
    client, server, _, _ = connected_pair(pki)
    client.send_data(kind(b"payload" * 1000))
    wire = client.data_to_send()
    assert merged_data(server.receive_data(kind(wire))) == b"payload" * 1000


def test_the_write_key_is_updated_before_its_usage_limit(pki):
    client, server, _, _ = connected_pair(pki)
    client._update_after = 3  # records per key; the suite's limit is 2^24 for AES-GCM
    for index in range(7):
        client.send_data(b"m%d" % index)
    assert merged_data(server.receive_data(client.data_to_send())) == b"m0m1m2m3m4m5m6"
    assert client._records.seq(True) == 1  # two KeyUpdates: after the 3rd and the 6th record
    assert server._records.seq(False) == 1
