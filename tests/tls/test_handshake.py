"""In-memory handshakes between our client and server, and the connection after them."""

from __future__ import annotations

import pytest

from engine.errors import AlertDescription, LocalProtocolError
from engine.tls import (
    CIPHER_SUITES, GROUPS, AlertReceived, ApplicationData, ClientConnection, ConnectionClosed,
    HandshakeComplete, ServerConnection, SessionTicketReceived,
)
from tests._support.pairs import client_config, connected_pair, handshake, server_config, transfer


def completed(events) -> HandshakeComplete:
    found = [e for e in events if isinstance(e, HandshakeComplete)]
    assert len(found) == 1, events
    return found[0]


def data_of(events) -> bytes:
    return b"".join(e.data for e in events if isinstance(e, ApplicationData))


@pytest.mark.parametrize("suite", CIPHER_SUITES)
def test_every_cipher_suite(pki, suite):
    client, server, client_events, server_events = connected_pair(
        pki, {"cipher_suites": (suite,)}
    )
    assert completed(client_events).cipher_suite == suite
    assert completed(server_events).cipher_suite == suite
    client.send_data(b"ping")
    assert data_of(transfer(client, server)) == b"ping"
    server.send_data(b"pong")
    assert data_of(transfer(server, client)) == b"pong"


@pytest.mark.parametrize("group", GROUPS)
def test_every_group_with_a_key_share_for_it(pki, group):
    _, _, client_events, server_events = connected_pair(
        pki, {"groups": (group,), "key_share_groups": (group,)}
    )
    assert completed(client_events).group == group
    assert completed(server_events).group == group


@pytest.mark.parametrize("group", ["secp256r1", "secp384r1", "X25519MLKEM768"])
def test_hello_retry_request_when_the_key_share_does_not_fit(pki, group):
    client = ClientConnection(client_config(pki, key_share_groups=("x25519",)))
    server = ServerConnection(server_config(pki, groups=(group,)))
    transfer(client, server)
    retry = server.data_to_send()
    assert retry[5] == 2 and b"\xcf\x21\xad\x74" in retry  # a HelloRetryRequest
    client.receive_data(retry)
    client_events, server_events = handshake(client, server)
    assert completed(client_events).group == group
    assert completed(server_events).group == group


@pytest.mark.parametrize("shared,expected", [
    (("X25519MLKEM768", "x25519"), "X25519MLKEM768"),  # what Chromium sends
    (("x25519", "X25519MLKEM768"), "X25519MLKEM768"),
    (("secp256r1", "x25519"), "x25519"),
    (("secp384r1", "secp256r1"), "secp256r1"),
])
def test_the_server_prefers_the_hybrid_group_then_x25519(pki, shared, expected):
    """Among the groups the client sent key shares for, the server's order decides."""
    client = ClientConnection(client_config(pki, groups=shared, key_share_groups=shared))
    server = ServerConnection(server_config(pki))
    client_events, server_events = handshake(client, server)
    assert completed(client_events).group == completed(server_events).group == expected


def test_a_hello_retry_request_asks_for_the_servers_first_choice(pki):
    client = ClientConnection(client_config(
        pki, groups=("secp384r1", "x25519", "X25519MLKEM768"), key_share_groups=("secp384r1",)))
    server = ServerConnection(server_config(pki, groups=("X25519MLKEM768", "x25519")))
    client_events, _ = handshake(client, server)
    assert completed(client_events).group == "X25519MLKEM768"


@pytest.mark.parametrize("key_type,scheme", [
    ("p256", "ecdsa_secp256r1_sha256"), ("p384", "ecdsa_secp384r1_sha384"),
    ("ed25519", "ed25519"), ("rsa2048", "rsa_pss_rsae_sha256"),
])
def test_every_certificate_key_type(pki, key_type, scheme):
    _, _, client_events, server_events = connected_pair(
        pki, server_options={"certificates": [pki.servers[key_type]]}
    )
    done = completed(client_events)
    assert done.signature_scheme == scheme
    assert done.peer_chain[0] == pki.servers[key_type].certificate
    assert len(done.peer_chain) == 3  # the verified path: leaf, issuing CA, trusted root
    assert done.peer_chain[-1] in pki.trust
    assert completed(server_events).peer_chain == ()


def test_server_picks_the_certificate_the_client_can_verify(pki):
    both = [pki.servers["rsa2048"], pki.servers["p256"]]
    _, _, client_events, _ = connected_pair(
        pki, {"signature_schemes": ("ecdsa_secp256r1_sha256",)}, {"certificates": both}
    )
    assert completed(client_events).signature_scheme == "ecdsa_secp256r1_sha256"
    _, _, client_events, _ = connected_pair(
        pki, {"signature_schemes": ("rsa_pss_rsae_sha384",)}, {"certificates": both}
    )
    assert completed(client_events).signature_scheme == "rsa_pss_rsae_sha384"


def test_server_picks_the_certificate_by_server_name(pki):
    certificates = [pki.servers["p256"], pki.other_name]
    _, _, client_events, server_events = connected_pair(
        pki, {"server_name": "other.example"}, {"certificates": certificates}
    )
    assert completed(client_events).peer_chain[0] == pki.other_name.certificate
    assert completed(server_events).server_name == "other.example"
    _, _, client_events, _ = connected_pair(pki, {"server_name": "localhost"},
                                            {"certificates": certificates})
    assert completed(client_events).peer_chain[0] == pki.servers["p256"].certificate


def test_ip_address_server_name_is_checked_but_not_sent_as_sni(pki):
    _, _, client_events, server_events = connected_pair(pki, {"server_name": "127.0.0.1"})
    assert completed(client_events).server_name == "127.0.0.1"
    assert completed(server_events).server_name is None


def test_alpn_takes_the_servers_first_choice_the_client_offers(pki):
    _, _, client_events, server_events = connected_pair(
        pki, {"alpn_protocols": ("http/1.1", "h2")}, {"alpn_protocols": ("h2", "http/1.1")}
    )
    assert completed(client_events).alpn_protocol == "h2"
    assert completed(server_events).alpn_protocol == "h2"


def test_no_alpn_when_the_server_has_none(pki):
    _, _, client_events, _ = connected_pair(pki, {"alpn_protocols": ("h2",)})
    assert completed(client_events).alpn_protocol is None


@pytest.mark.parametrize("compat", [True, False])
def test_middlebox_compatibility_mode(pki, compat):
    client = ClientConnection(client_config(pki, middlebox_compat=compat))
    server = ServerConnection(server_config(pki))
    first = client.data_to_send()
    server.receive_data(first)
    flight = server.data_to_send()
    ccs = b"\x14\x03\x03\x00\x01\x01"
    assert (ccs in flight) == compat  # the server's CCS follows its ServerHello
    client.receive_data(flight)
    assert client.data_to_send().startswith(ccs) == compat


def test_large_data_crosses_in_many_records(pki):
    client, server, _, _ = connected_pair(pki)
    payload = bytes(range(256)) * 1000
    client.send_data(payload)
    wire = client.data_to_send()
    assert len(wire) > len(payload) + 5 * 16
    assert data_of(server.receive_data(wire)) == payload


def test_bytes_arriving_one_at_a_time(pki):
    client = ClientConnection(client_config(pki))
    server = ServerConnection(server_config(pki))
    client_events, server_events = [], []
    for _ in range(3):
        for byte in client.data_to_send():
            server_events += server.receive_data(bytes((byte,)))
        for byte in server.data_to_send():
            client_events += client.receive_data(bytes((byte,)))
    completed(client_events)
    completed(server_events)
    client.send_data(b"x" * 40000)
    received = []
    for byte in client.data_to_send():
        received += server.receive_data(bytes((byte,)))
    assert data_of(received) == b"x" * 40000


@pytest.mark.parametrize("initiator", ["client", "server"])
@pytest.mark.parametrize("request_peer", [True, False])
def test_key_update(pki, initiator, request_peer):
    client, server, _, _ = connected_pair(pki)
    sender, receiver = (client, server) if initiator == "client" else (server, client)
    sender.key_update(request_peer=request_peer)
    sender.send_data(b"after update")
    assert data_of(transfer(sender, receiver)) == b"after update"
    answer = receiver.data_to_send()
    assert bool(answer) == request_peer  # its own KeyUpdate(update_not_requested)
    if answer:
        assert sender.receive_data(answer) == []
        assert sender.data_to_send() == b""  # no answer to update_not_requested
    receiver.send_data(b"reply")
    assert data_of(transfer(receiver, sender)) == b"reply"


def test_key_update_request_answered_in_the_middle_of_a_batch(pki):
    client, server, _, _ = connected_pair(pki)
    client.send_data(b"one")
    client.key_update(request_peer=True)
    client.send_data(b"two")
    events = server.receive_data(client.data_to_send())
    assert data_of(events) == b"onetwo"
    server.send_data(b"three")
    assert data_of(client.receive_data(server.data_to_send())) == b"three"


def test_close_notify_closes_one_direction_and_the_other_may_still_reply(pki):
    """RFC 8446 section 6.1: close_notify closes the sender's direction; the receiver may send
    its reply and then close its own."""
    client, server, _, _ = connected_pair(pki)
    client.close()
    assert client.closed
    events = transfer(client, server)
    assert events == [AlertReceived(AlertDescription.close_notify), ConnectionClosed()]
    assert server.closed and server.data_to_send() == b""  # no close_notify sent in reply yet
    server.send_data(b"the reply")
    assert data_of(transfer(server, client)) == b"the reply"
    server.close()
    events = transfer(server, client)
    assert events == [AlertReceived(AlertDescription.close_notify), ConnectionClosed()]
    with pytest.raises(LocalProtocolError):
        client.send_data(b"late")
    with pytest.raises(LocalProtocolError):
        server.send_data(b"late")
    assert server.receive_data(b"more") == []


def test_eof_gives_connection_closed(pki):
    client, server, _, _ = connected_pair(pki)
    assert server.receive_data(b"") == [ConnectionClosed()]
    assert server.closed


def test_send_data_before_the_handshake_is_a_local_error(pki):
    client = ClientConnection(client_config(pki))
    with pytest.raises(LocalProtocolError):
        client.send_data(b"early")
    with pytest.raises(LocalProtocolError):
        client.key_update()


def test_verify_without_trust_given_checks_against_the_system_cas(pki):
    from engine.errors import UnknownCaError

    with pytest.raises(UnknownCaError):  # the test CA is not among the system's
        connected_pair(pki, {"trust": None})


def test_no_verification_when_verify_is_false(pki):
    _, _, client_events, _ = connected_pair(
        pki, {"trust": None, "verify": False}, {"certificates": [pki.untrusted_server]}
    )
    assert completed(client_events).peer_chain[0] == pki.untrusted_server.certificate


@pytest.mark.parametrize("side", ["client", "server"])
def test_keylog_file_has_the_four_secrets(pki, tmp_path, side):
    path = str(tmp_path / "keys.log")
    options = {"keylog_file": path}
    client, server, _, _ = connected_pair(
        pki, options if side == "client" else None, options if side == "server" else None
    )
    lines = open(path).read().splitlines()
    labels = [line.split()[0] for line in lines]
    assert labels == ["CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET",
                      "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0"]
    assert {line.split()[1] for line in lines} == {client.client_random.hex()}
    assert all(len(line.split()[2]) == 64 for line in lines)


def test_no_keylog_without_a_path(pki, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    connected_pair(pki)
    assert list(tmp_path.iterdir()) == []


def test_a_new_session_ticket_is_reported_as_a_session(pki):
    from engine.tls import codec

    client, server, _, _ = connected_pair(pki)
    ticket = codec.build_new_session_ticket(codec.NewSessionTicket(
        7200, 1234, b"\x00", b"ticket-bytes", max_early_data=1024))
    from tests._support.pairs import sealed

    wire = sealed(server, ticket, content_type=22)
    server.send_data(b"after the ticket")
    events = client.receive_data(wire + server.data_to_send())
    assert [type(e) for e in events] == [SessionTicketReceived, ApplicationData]
    session = events[0].session
    assert (session.ticket, session.lifetime, session.max_early_data) == (b"ticket-bytes", 7200,
                                                                          1024)
    assert client.session is session and events[1] == ApplicationData(b"after the ticket")
    assert client.data_to_send() == b""


def test_user_canceled_is_reported_and_the_connection_goes_on(pki):
    client, server, _, _ = connected_pair(pki)
    client._send_alert(AlertDescription.user_canceled, level=1)
    client.send_data(b"still here")
    events = transfer(client, server)
    assert events == [AlertReceived(AlertDescription.user_canceled), ApplicationData(b"still here")]


def test_handshake_messages_coalesced_and_fragmented_across_records(pki):
    from engine.records._suites import plaintext_records

    client = ClientConnection(client_config(pki))
    server = ServerConnection(server_config(pki))
    hello = client.data_to_send()[5:]  # the ClientHello message without its record header
    wire = b"".join(plaintext_records(22, hello[i:i + 7]) for i in range(0, len(hello), 7))
    assert server.receive_data(wire) == []
    client_events, server_events = handshake(client, server)
    completed(client_events)
    completed(server_events)


def test_key_shares_follow_the_order_of_supported_groups(pki):
    from engine.tls import codec

    client = ClientConnection(client_config(pki, key_share_groups=("secp256r1", "x25519")))
    hello = codec.parse_client_hello(client.data_to_send()[9:])
    assert [group for group, _ in hello.key_share] == [0x1D, 0x17]
    assert hello.supported_groups[:2] == [0x1D, 0x17]


class CountingReads:
    """Stands in for a connection's record layer, counting its read() calls."""

    def __init__(self, layer):
        self.layer = layer
        self.calls = 0

    def read(self, data):
        self.calls += 1
        return self.layer.read(data)

    def __getattr__(self, name):
        return getattr(self.layer, name)


def test_a_batch_of_application_data_is_opened_in_one_call(pki):
    client, server, _, _ = connected_pair(pki)
    client.send_data(b"x" * 300000)
    counting = server._records = CountingReads(server._records)
    assert data_of(server.receive_data(client.data_to_send())) == b"x" * 300000
    assert counting.calls == 1


def test_records_after_a_key_update_are_opened_in_one_call_per_key(pki):
    client, server, _, _ = connected_pair(pki)
    counting = server._records = CountingReads(server._records)
    for _ in range(3):
        client.key_update(request_peer=False)
        client.send_data(b"y" * 200000)
    events = server.receive_data(client.data_to_send())
    assert data_of(events) == b"y" * 600000
    assert counting.calls == 4  # a run of data, then one call after each KeyUpdate
    client.send_data(b"z" * 300000)
    assert data_of(server.receive_data(client.data_to_send())) == b"z" * 300000
    assert counting.calls == 5


@pytest.mark.parametrize("name,acknowledged", [("localhost", True), ("unknown.example", False)])
def test_server_acknowledges_the_server_name_it_used(pki, name, acknowledged):
    from engine.tls import codec
    from tests._support.pairs import open_all, records

    client = ClientConnection(client_config(pki, server_name=name, verify=False, trust=None))
    server = ServerConnection(server_config(pki))
    transfer(client, server)
    wire = server.data_to_send()
    client.receive_data(b"".join(r for t, r in records(wire) if t != 23))
    extensions = codec.parse_encrypted_extensions(open_all(client, client._server_hs, wire)[0][4:])
    assert extensions.server_name_acknowledged is acknowledged


def test_bytes_like_input_and_output(pki):
    client = ClientConnection(client_config(pki))
    server = ServerConnection(server_config(pki))
    server.receive_data(bytearray(client.data_to_send()))
    client.receive_data(memoryview(server.data_to_send()))
    server.receive_data(memoryview(bytearray(client.data_to_send())))
    assert client.handshake_complete and server.handshake_complete
    client.send_data(memoryview(b"view"))
    client.send_data(bytearray(b"array"))
    assert data_of(transfer(client, server)) == b"viewarray"


def test_both_sides_export_the_same_keying_material(pki):
    client, server, _, _ = connected_pair(pki)
    for args in (("EXPORTER-test", b"", 32), ("EXPORTER-test", b"context", 64)):
        assert client.export_keying_material(*args) == server.export_keying_material(*args)
    assert client.export_keying_material("a") != client.export_keying_material("b")
    assert client.export_keying_material("a", b"1") != client.export_keying_material("a", b"2")
    with pytest.raises(LocalProtocolError):
        ClientConnection(client_config(pki)).export_keying_material("early")
