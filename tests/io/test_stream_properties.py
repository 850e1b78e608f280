"""Properties of a TLSSocket stream: bytes arrive complete and in order, however they are cut."""

from __future__ import annotations

import socket
import threading

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.blocking import TLSSocket
from engine.tls import ClientConfig, ClientConnection, ServerConfig, ServerConnection

TIMEOUT = 10.0


def connected_pair(creds):
    """A client and a server TLSSocket over a socketpair, handshakes done."""
    a, b = socket.socketpair()
    a.settimeout(TIMEOUT)
    b.settimeout(TIMEOUT)
    client = TLSSocket(a, ClientConnection(ClientConfig(trust=creds.trust),
                                           server_name="localhost"))
    server = TLSSocket(b, ServerConnection(ServerConfig([creds.server])))
    thread = threading.Thread(target=server.do_handshake)
    thread.start()
    client.do_handshake()
    thread.join(TIMEOUT)
    assert server.handshake is not None
    return client, server


chunks = st.lists(st.binary(min_size=0, max_size=40000), min_size=1, max_size=8)
reads = st.lists(st.integers(min_value=1, max_value=70000), min_size=1, max_size=8)


@settings(max_examples=40, deadline=None)
@given(chunks=chunks, read_sizes=reads)
def test_what_one_side_sends_the_other_reads_in_order(creds, chunks, read_sizes):
    client, server = connected_pair(creds)
    expected = b"".join(chunks)
    received = bytearray()

    def read_everything():
        index = 0
        while True:
            data = server.recv(read_sizes[index % len(read_sizes)])
            if not data:
                return
            received.extend(data)
            index += 1

    reader = threading.Thread(target=read_everything)
    reader.start()
    try:
        for chunk in chunks:
            client.sendall(chunk)
    finally:
        client.close()
        reader.join(TIMEOUT)
        server.close()
    assert bytes(received) == expected
    assert client.plaintext_sent == server.plaintext_received == len(expected)
    assert client.bytes_sent == server.bytes_received


@settings(max_examples=20, deadline=None)
@given(updates=st.lists(st.sampled_from(["client", "server", "client-request",
                                          "server-request", "data"]), max_size=10))
def test_key_updates_in_any_order_keep_both_directions_readable(creds, updates):
    client, server = connected_pair(creds)
    try:
        for step, action in enumerate(updates + ["data"]):
            if action == "data":
                client.sendall(b"c%d" % step)
                assert server.recv_exactly(len(b"c%d" % step)) == b"c%d" % step
                server.sendall(b"s%d" % step)
                assert client.recv_exactly(len(b"s%d" % step)) == b"s%d" % step
            else:
                side = client if action.startswith("client") else server
                side.key_update(request_peer=action.endswith("request"))
    finally:
        client.close()
        server.close()
