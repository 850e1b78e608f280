"""Faults of the peer: each gives its RFC 8446 section 6 alert, queued before the error."""

from __future__ import annotations

import os

import pytest

from engine import errors
from engine.errors import AlertDescription
from engine.records import Sealer
from engine.records._suites import plaintext_records
from engine.tls import ApplicationData, ClientConnection, ServerConnection, codec
from engine.tls.constants import DOWNGRADE_TLS11, DOWNGRADE_TLS12, HELLO_RETRY_REQUEST_RANDOM
from engine.tls.key_exchange import KeyShare
from engine.tls.key_schedule import traffic_key
from tests._support.pairs import (
    client_config, connected_pair, run_to_failure, server_config, transfer,
)


def alert_of(conn) -> int:
    """The description of the (plaintext) alert record a connection queued."""
    wire = conn.data_to_send()
    assert wire[0] == 21, wire[:5]
    return wire[6]


def client_hello(**changes) -> bytes:
    share = KeyShare("x25519")
    fields = dict(
        random=os.urandom(32), legacy_session_id=b"", cipher_suites=[0x1301],
        supported_versions=[0x0304], supported_groups=[0x1D], signature_algorithms=[0x0403],
        key_share=[(0x1D, share.public)],
    )
    fields.update(changes)
    return plaintext_records(22, codec.build_client_hello(codec.ClientHello(**fields)))


def server_answer(pki, wire: bytes, **options):
    server = ServerConnection(server_config(pki, **options))
    server.receive_data(wire)
    return server, server.data_to_send()


# --- ClientHello checks on the server -------------------------------------------------------


@pytest.mark.parametrize("changes,error", [
    ({"supported_versions": None}, errors.ProtocolVersionError),
    ({"supported_versions": [0x0303]}, errors.ProtocolVersionError),
    ({"key_share": None}, errors.MissingExtensionError),
    ({"supported_groups": None}, errors.MissingExtensionError),
    ({"signature_algorithms": None}, errors.MissingExtensionError),
    ({"cipher_suites": [0x1305, 0xC02F]}, errors.HandshakeFailureError),
    ({"supported_groups": [0x1D, 0x0100]}, None),
    ({"legacy_compression_methods": b"\x01\x00"}, errors.IllegalParameterError),
])
def test_client_hello_faults(pki, changes, error):
    if error is None:  # an extra unknown group is simply ignored
        _, answer = server_answer(pki, client_hello(**changes))
        assert answer[5] == 2
        return
    server = ServerConnection(server_config(pki))
    with pytest.raises(error):
        server.receive_data(client_hello(**changes))
    assert alert_of(server) == error.alert


def with_legacy_version(wire: bytes, version: int) -> bytes:
    """A one-record ClientHello with ClientHello.legacy_version rewritten."""
    return wire[:9] + version.to_bytes(2, "big") + wire[11:]


@pytest.mark.parametrize("legacy_version", [0x0300, 0x0000, 0x0200, 0x0301, 0x0302])
def test_legacy_version_below_tls12_is_protocol_version(pki, legacy_version):
    """Even with TLS 1.3 in supported_versions (RFC 8446 4.1.2, appendix D.5)."""
    server = ServerConnection(server_config(pki))
    with pytest.raises(errors.ProtocolVersionError, match="legacy_version"):
        server.receive_data(with_legacy_version(client_hello(), legacy_version))
    assert alert_of(server) == AlertDescription.protocol_version


def test_legacy_version_above_tls12_is_ignored(pki):
    """supported_versions decides the version (4.2.1): only an old legacy_version is refused."""
    _, answer = server_answer(pki, with_legacy_version(client_hello(), 0x0304))
    assert answer[5] == 2  # ServerHello


@pytest.mark.parametrize("shares", [
    [(0x1D, b"")],
    [(0x2A2A, b""), (0x1D, KeyShare("x25519").public)],  # even for a group we would not use
])
def test_empty_key_exchange_is_illegal_parameter(pki, shares):
    """key_exchange<1..2^16-1> (RFC 8446 4.2.8): an empty one is a bad value, not bad framing."""
    server = ServerConnection(server_config(pki))
    with pytest.raises(errors.IllegalParameterError, match="empty key_exchange"):
        server.receive_data(client_hello(supported_groups=[0x2A2A, 0x1D], key_share=shares))
    assert alert_of(server) == AlertDescription.illegal_parameter


def test_no_common_group_is_handshake_failure(pki):
    server = ServerConnection(server_config(pki, groups=("secp384r1",)))
    with pytest.raises(errors.HandshakeFailureError):
        server.receive_data(client_hello())


def test_grease_and_unknown_values_are_ignored(pki):
    share = KeyShare("x25519")
    wire = client_hello(
        cipher_suites=[0x0A0A, 0x1301], supported_groups=[0x2A2A, 0x1D],
        supported_versions=[0x3A3A, 0x0304], signature_algorithms=[0x4A4A, 0x0403],
        key_share=[(0x2A2A, b"\x00"), (0x1D, share.public)],
        other_extensions=[(0x5A5A, b""), (0xFE0D, b"unknown")],
    )
    server, answer = server_answer(pki, wire)
    hello = codec.parse_server_hello(answer[9:5 + int.from_bytes(answer[3:5], "big")])
    assert hello.cipher_suite == 0x1301 and hello.key_share[0] == 0x1D


def test_alpn_without_a_common_protocol(pki):
    client = ClientConnection(client_config(pki, alpn_protocols=("spdy/1",)))
    server = ServerConnection(server_config(pki, alpn_protocols=("h2",)))
    errs = run_to_failure(client, server)
    assert isinstance(errs["server"], errors.NoApplicationProtocolError)
    assert errs["client"].description == AlertDescription.no_application_protocol


def test_second_client_hello_without_the_requested_share(pki):
    server = ServerConnection(server_config(pki, groups=("secp256r1",)))
    hello = client_hello(supported_groups=[0x1D, 0x17])
    server.receive_data(hello)
    retry = server.data_to_send()
    assert retry[11:43] == HELLO_RETRY_REQUEST_RANDOM
    with pytest.raises(errors.IllegalParameterError):
        server.receive_data(client_hello(supported_groups=[0x1D, 0x17]))
    assert alert_of(server) == AlertDescription.illegal_parameter


# --- ServerHello checks on the client -------------------------------------------------------


def server_hello_for(client, **changes) -> bytes:
    share = KeyShare("x25519")
    fields = dict(random=os.urandom(32), legacy_session_id_echo=client._hello.legacy_session_id,
                  cipher_suite=0x1301, supported_version=0x0304, key_share=(0x1D, share.public))
    fields.update(changes)
    return plaintext_records(22, codec.build_server_hello(codec.ServerHello(**fields)))


@pytest.mark.parametrize("sentinel", [DOWNGRADE_TLS12, DOWNGRADE_TLS11])
def test_downgrade_sentinel_is_illegal_parameter(pki, sentinel):
    client = ClientConnection(client_config(pki))
    client.data_to_send()
    wire = server_hello_for(client, supported_version=None, random=os.urandom(24) + sentinel)
    with pytest.raises(errors.IllegalParameterError):
        client.receive_data(wire)
    assert alert_of(client) == AlertDescription.illegal_parameter


def test_tls12_server_hello_is_protocol_version(pki):
    client = ClientConnection(client_config(pki))
    client.data_to_send()
    with pytest.raises(errors.ProtocolVersionError):
        client.receive_data(server_hello_for(client, supported_version=None))


@pytest.mark.parametrize("legacy_version", [0x0300, 0x0301, 0x0304])
def test_server_hello_legacy_version_other_than_tls12_is_protocol_version(pki, legacy_version):
    """A TLS 1.3 ServerHello carries legacy_version 0x0303 (RFC 8446 4.1.3, appendix D.5)."""
    client = ClientConnection(client_config(pki))
    client.data_to_send()
    wire = server_hello_for(client)
    with pytest.raises(errors.ProtocolVersionError):
        client.receive_data(wire[:9] + legacy_version.to_bytes(2, "big") + wire[11:])
    assert alert_of(client) == AlertDescription.protocol_version


@pytest.mark.parametrize("changes", [
    {"legacy_session_id_echo": b"\x00" * 32},
    {"cipher_suite": 0x1304},
    {"key_share": (0x17, b"\x04" + b"\x01" * 64)},  # a group we sent no share for
    {"key_share": (0x1D, b"\x01" * 31)},  # wrong length
    {"key_share": (0x1D, bytes(32))},  # all-zero x25519 secret
    {"key_share": (0x1D, b"")},  # empty key_exchange
])
def test_bad_server_hello_is_illegal_parameter(pki, changes):
    client = ClientConnection(client_config(pki))
    client.data_to_send()
    with pytest.raises(errors.IllegalParameterError):
        client.receive_data(server_hello_for(client, **changes))
    assert alert_of(client) == AlertDescription.illegal_parameter


def test_invalid_p256_point_is_illegal_parameter(pki):
    client = ClientConnection(client_config(pki, key_share_groups=("secp256r1",)))
    client.data_to_send()
    with pytest.raises(errors.IllegalParameterError):
        client.receive_data(server_hello_for(client, key_share=(0x17, b"\x04" + b"\x01" * 64)))


def test_second_hello_retry_request_is_unexpected(pki):
    client = ClientConnection(client_config(pki))
    client.data_to_send()
    retry = server_hello_for(client, random=HELLO_RETRY_REQUEST_RANDOM, key_share=None,
                             selected_group=0x17)
    client.receive_data(retry)
    client.data_to_send()
    again = server_hello_for(client, random=HELLO_RETRY_REQUEST_RANDOM, key_share=None,
                             selected_group=0x18)
    with pytest.raises(errors.UnexpectedMessageError):
        client.receive_data(again)


def test_hello_retry_request_for_a_group_already_shared_is_illegal(pki):
    client = ClientConnection(client_config(pki))
    client.data_to_send()
    retry = server_hello_for(client, random=HELLO_RETRY_REQUEST_RANDOM, key_share=None,
                             selected_group=0x1D)
    with pytest.raises(errors.IllegalParameterError):
        client.receive_data(retry)


def test_hello_retry_request_cookie_is_echoed(pki):
    client = ClientConnection(client_config(pki))
    client.data_to_send()
    retry = server_hello_for(client, random=HELLO_RETRY_REQUEST_RANDOM, key_share=None,
                             selected_group=0x17, cookie=b"opaque-cookie")
    client.receive_data(retry)
    second = client.data_to_send()
    assert second.startswith(b"\x14\x03\x03\x00\x01\x01")  # compat CCS first
    hello = codec.parse_client_hello(second[6 + 9:])
    assert hello.cookie == b"opaque-cookie"
    assert [g for g, _ in hello.key_share] == [0x17]


# --- Finished, records and alerts -------------------------------------------------------------


def test_tampered_server_finished_is_decrypt_error(pki):
    client = ClientConnection(client_config(pki))
    server = ServerConnection(server_config(pki))
    transfer(client, server)
    wire = server.data_to_send()
    cut = 5 + int.from_bytes(wire[3:5], "big")
    client.receive_data(wire[:cut])
    key, iv = traffic_key(server.suite, server._schedule and client._server_hs)
    from engine.records import Opener

    segments, _ = Opener(server.suite.name, key, iv).open(wire[cut + 6:])
    flight = bytearray(b"".join(p for _, p in segments))
    flight[-1] ^= 1
    with pytest.raises(errors.DecryptError):
        client.receive_data(Sealer(server.suite.name, key, iv).seal(bytes(flight), content_type=22))


def test_tampered_record_is_bad_record_mac(pki):
    client, server, _, _ = connected_pair(pki)
    client.send_data(b"a" * 100)
    client.send_data(b"b" * 100)
    wire = bytearray(client.data_to_send())
    wire[-3] ^= 0x80
    with pytest.raises(errors.BadRecordMacError):
        server.receive_data(bytes(wire))
    with pytest.raises(errors.LocalProtocolError):
        server.receive_data(b"\x17\x03\x03\x00\x00")


def test_oversized_plaintext_record_is_record_overflow(pki):
    server = ServerConnection(server_config(pki))
    with pytest.raises(errors.RecordOverflowError):
        server.receive_data(b"\x16\x03\x01\x40\x01" + bytes(0x4001))
    assert alert_of(server) == AlertDescription.record_overflow


def test_oversized_ciphertext_is_record_overflow_from_its_header(pki):
    client, server, _, _ = connected_pair(pki)
    with pytest.raises(errors.RecordOverflowError):
        server.receive_data(b"\x17\x03\x03\x41\x01")


def test_handshake_message_over_the_limit_is_decode_error(pki):
    server = ServerConnection(server_config(pki))
    with pytest.raises(errors.DecodeError):
        server.receive_data(plaintext_records(22, b"\x01\x7f\xff\xff"))


def test_application_data_before_keys_is_unexpected(pki):
    server = ServerConnection(server_config(pki))
    with pytest.raises(errors.UnexpectedMessageError):
        server.receive_data(b"\x17\x03\x03\x00\x01\x00")


def test_unknown_record_type_is_unexpected(pki):
    server = ServerConnection(server_config(pki))
    with pytest.raises(errors.UnexpectedMessageError):
        server.receive_data(b"\x63\x03\x03\x00\x01\x00")


def test_change_cipher_spec_with_a_wrong_value_is_unexpected(pki):
    client = ClientConnection(client_config(pki))
    with pytest.raises(errors.UnexpectedMessageError):
        client.receive_data(b"\x14\x03\x03\x00\x01\x02")


def test_change_cipher_spec_after_the_handshake_is_unexpected(pki):
    client, server, _, _ = connected_pair(pki)
    with pytest.raises(errors.UnexpectedMessageError):
        server.receive_data(b"\x14\x03\x03\x00\x01\x01")


def test_handshake_message_spanning_a_key_change_is_unexpected(pki):
    client = ClientConnection(client_config(pki))
    client.data_to_send()
    share = KeyShare("x25519")
    hello = codec.build_server_hello(codec.ServerHello(
        os.urandom(32), client._hello.legacy_session_id, 0x1301, 0x0304, (0x1D, share.public)))
    extra = codec.build_encrypted_extensions(codec.EncryptedExtensions())
    with pytest.raises(errors.UnexpectedMessageError):
        client.receive_data(plaintext_records(22, hello + extra))


def test_zero_length_and_padded_records_are_accepted(pki):
    client, server, _, _ = connected_pair(pki)
    from tests._support.pairs import protected, sealed

    wire = protected(client, b"\x17")  # one record with an empty inner content
    assert len(wire) == 5 + 1 + 16
    wire += sealed(client, b"padded", pad_to=256)
    assert len(wire) > 256
    events = server.receive_data(wire)
    assert events == [ApplicationData(b"padded")]


def test_alert_of_the_wrong_size_is_decode_error(pki):
    server = ServerConnection(server_config(pki))
    with pytest.raises(errors.DecodeError):
        server.receive_data(b"\x15\x03\x03\x00\x03\x02\x28\x00")


def test_fatal_alert_from_the_peer(pki):
    client, server, _, _ = connected_pair(pki)
    server._send_alert(AlertDescription.internal_error)
    with pytest.raises(errors.PeerAlertError) as info:
        transfer(server, client)
    assert info.value.description == AlertDescription.internal_error
    assert client.closed and client.data_to_send() == b""
    with pytest.raises(errors.LocalProtocolError):
        client.receive_data(b"\x17\x03\x03\x00\x00")


def test_a_peer_that_does_not_speak_tls_is_refused_from_the_first_bytes(pki):
    server = ServerConnection(server_config(pki))
    with pytest.raises(errors.UnexpectedMessageError):
        server.receive_data(b"GET / HTTP/1.1\r\n")
    assert alert_of(server) == AlertDescription.unexpected_message


def test_plaintext_alert_during_the_handshake_is_read(pki):
    client = ClientConnection(client_config(pki))
    with pytest.raises(errors.PeerAlertError) as info:
        client.receive_data(b"\x15\x03\x03\x00\x02\x02\x28")
    assert info.value.description == AlertDescription.handshake_failure


def test_plaintext_alert_after_the_handshake_is_unexpected(pki):
    client, server, _, _ = connected_pair(pki)
    with pytest.raises(errors.UnexpectedMessageError):
        server.receive_data(b"\x15\x03\x03\x00\x02\x01\x00")


def test_a_large_handshake_message_in_one_byte_records_is_reassembled(pki):
    client, server, _, _ = connected_pair(pki)
    from engine.tls import codec as c

    ticket = c.build_new_session_ticket(c.NewSessionTicket(1, 2, b"", b"t" * 20000, []))
    from tests._support.pairs import sealed

    wire = sealed(server, ticket, content_type=22, max_fragment=1)
    assert len(wire) > 20000 * 22  # linear time: each record is looked at a bounded number of times
    [event] = client.receive_data(wire)
    assert event.session.ticket == b"t" * 20000
    server.send_data(b"next")
    assert client.receive_data(server.data_to_send()) == [ApplicationData(b"next")]


def test_events_before_a_fault_travel_on_the_error(pki):
    client, server, _, _ = connected_pair(pki)
    client.send_data(b"kept")
    wire = client.data_to_send() + b"\x63\x03\x03\x00\x01\x00"
    with pytest.raises(errors.UnexpectedMessageError) as info:
        server.receive_data(wire)
    assert info.value.events == [ApplicationData(b"kept")]
