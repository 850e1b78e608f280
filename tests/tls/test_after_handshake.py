"""A connected pair fed well-protected records whose inner content is wrong, floods, and misuse
of the API: only engine errors come out, with the alert of RFC 8446 section 6 queued; misuse
is a TypeError or LocalProtocolError and changes nothing."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.errors import (
    AlertDescription, DecodeError, EngineError, IllegalParameterError, InternalError,
    LocalProtocolError, PeerAlertError, ProtocolError, UnexpectedMessageError,
)
from engine.tls import ClientConfig, ClientConnection
from engine.tls.events import AlertReceived, ApplicationData, ConnectionClosed
from engine.tls.key_schedule import next_traffic_secret
from tests._support.pairs import connected_pair, protected, sealed

SETTINGS = settings(max_examples=80, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


def connected(pki):
    client, server, _, _ = connected_pair(pki)
    assert client.handshake_complete and server.handshake_complete
    return client, server


def expect_failure(receiver, wire: bytes, error, alert: AlertDescription):
    with pytest.raises(error) as info:
        receiver.receive_data(wire)
    assert info.value.alert == alert
    assert receiver.closed and receiver.data_to_send()  # the alert, protected
    with pytest.raises(LocalProtocolError):
        receiver.receive_data(b"more")
    return info.value


@pytest.mark.parametrize("inner, error, alert", [
    (b"\x16", UnexpectedMessageError, AlertDescription.unexpected_message),  # empty handshake
    (b"\x16" + bytes(30), UnexpectedMessageError, AlertDescription.unexpected_message),
    (b"\x01\x00\x00\x00\x16", UnexpectedMessageError, AlertDescription.unexpected_message),
    (b"\x63\x00\x00\x00\x16", UnexpectedMessageError, AlertDescription.unexpected_message),
    (b"\x18\x00\x00\x00\x16", DecodeError, AlertDescription.decode_error),
    (b"\x18\x00\x00\x02\x00\x00\x16", DecodeError, AlertDescription.decode_error),
    (b"\x18\x00\x00\x01\x05\x16", IllegalParameterError, AlertDescription.illegal_parameter),
    (b"\x18\xff\xff\xff\x16", DecodeError, AlertDescription.decode_error),
    (b"\x01\x14", UnexpectedMessageError, AlertDescription.unexpected_message),  # protected CCS
    (b"\x14", UnexpectedMessageError, AlertDescription.unexpected_message),
    # an alert of 0 bytes: a zero-length fragment of a type other than application data (5.1)
    (b"\x15", UnexpectedMessageError, AlertDescription.unexpected_message),
    (b"\x02\x15", DecodeError, AlertDescription.decode_error),
    (b"\x02\x28\x00\x15", DecodeError, AlertDescription.decode_error),
    (b"xx\x18", UnexpectedMessageError, AlertDescription.unexpected_message),  # heartbeat
    (b"xx\xff", UnexpectedMessageError, AlertDescription.unexpected_message),
    (bytes(8), UnexpectedMessageError, AlertDescription.unexpected_message),  # no content type
])
def test_malformed_inner_content_after_the_handshake(pki, inner, error, alert):
    client, server = connected(pki)
    expect_failure(server, protected(client, inner), error, alert)


def test_change_cipher_spec_in_plaintext_after_the_handshake_is_unexpected(pki):
    client, server = connected(pki)
    expect_failure(server, b"\x14\x03\x03\x00\x01\x01", UnexpectedMessageError,
                   AlertDescription.unexpected_message)


def test_a_handshake_message_cut_by_application_data_is_unexpected(pki):
    client, server = connected(pki)
    wire = protected(client, b"\x18\x00\x00\x16") + protected(client, b"hi\x17")
    expect_failure(server, wire, UnexpectedMessageError, AlertDescription.unexpected_message)


def test_events_before_the_fault_travel_on_the_error(pki):
    client, server = connected(pki)
    wire = protected(client, b"first\x17") + protected(client, b"\x16")
    error = expect_failure(server, wire, UnexpectedMessageError, AlertDescription.unexpected_message)
    assert error.events == [ApplicationData(b"first")]


def test_a_key_update_flood_is_answered_in_bounded_memory(pki):
    client, server = connected(pki)
    count, wire = 300, []
    for _ in range(count):  # each a KeyUpdate(update_requested), the keys moving on after it
        wire.append(protected(client, b"\x18\x00\x00\x01\x01\x16"))
        client._write_secret = next_traffic_secret(client.suite, client._write_secret)
        client._set_write_secret(client._write_secret)
    wire.append(sealed(client, b"still here"))
    events = server.receive_data(b"".join(wire))
    assert events == [ApplicationData(b"still here")]
    assert server._records.received == 0 and not server._handshake_buffer
    replies = server.data_to_send()
    assert len(replies) == count * len(protected(server, b"\x18\x00\x00\x01\x00\x16"))


def test_data_after_close_notify_is_ignored(pki):
    client, server = connected(pki)
    wire = protected(client, b"\x01\x00\x15") + protected(client, b"late\x17") + b"\xff" * 40
    assert server.receive_data(wire) == [
        AlertReceived(AlertDescription.close_notify), ConnectionClosed()]
    assert server.receive_data(b"more") == []


@SETTINGS
@given(records=st.lists(st.tuples(st.binary(max_size=40), st.integers(0, 255),
                                  st.integers(0, 3)), min_size=1, max_size=4),
       to_client=st.booleans())
def test_any_inner_plaintext_after_the_handshake(pki, records, to_client):
    client, server = connected(pki)
    sender, receiver = (server, client) if to_client else (client, server)
    wire = b"".join(protected(sender, content + bytes((kind,)) + bytes(pad))
                    for content, kind, pad in records)
    try:
        receiver.receive_data(wire)
    except ProtocolError as exc:
        assert not isinstance(exc, InternalError), repr(exc.__cause__)
        assert receiver.data_to_send() and receiver.closed
    except PeerAlertError:
        assert receiver.closed
    except EngineError as exc:  # pragma: no cover - any other error type is a defect
        pytest.fail("unexpected error type %r" % exc)


# --- misuse of the API ------------------------------------------------------------------------


@pytest.mark.parametrize("data", ["text", None, 5, [1, 2]])
def test_receive_data_of_a_non_bytes_is_a_type_error_that_changes_nothing(pki,
                                                                          data):
    client, server = connected(pki)
    with pytest.raises(TypeError, match="bytes-like"):
        server.receive_data(data)
    assert not server.closed
    client.send_data(b"ping")
    assert server.receive_data(client.data_to_send()) == [ApplicationData(b"ping")]


@pytest.mark.parametrize("data", ["text", None, 5])
def test_send_data_of_a_non_bytes_is_a_type_error(pki, data):
    client, _ = connected(pki)
    with pytest.raises(TypeError, match="bytes-like"):
        client.send_data(data)
    assert client.data_to_send() == b"" and not client.closed


def test_calls_before_the_handshake_are_local_protocol_errors(pki):
    client = ClientConnection(ClientConfig(trust=pki.trust, server_name="localhost"))
    for call in (lambda: client.send_data(b"x"), client.key_update,
                 lambda: client.export_keying_material(b"label")):
        with pytest.raises(LocalProtocolError):
            call()


def test_calls_after_a_fatal_error_are_local_protocol_errors(pki):
    client, server = connected(pki)
    with pytest.raises(ProtocolError):
        server.receive_data(b"\x17\x03\x03\x00\x20" + bytes(32))
    alert = server.data_to_send()
    for call in (lambda: server.receive_data(b"x"), lambda: server.receive_data(b""),
                 lambda: server.send_data(b"x"), server.key_update):
        with pytest.raises(LocalProtocolError):
            call()
    server.close()
    assert alert and server.data_to_send() == b""  # nothing after the fatal alert


def test_calls_after_close_are_local_protocol_errors(pki):
    client, _ = connected(pki)
    client.close()
    client.close()
    assert len(client.data_to_send()) > 0
    for call in (lambda: client.send_data(b"x"), client.key_update):
        with pytest.raises(LocalProtocolError):
            call()


def test_exporter_arguments_are_checked(pki):
    client, server = connected(pki)
    with pytest.raises(LocalProtocolError, match="ASCII"):
        client.export_keying_material("é")
    with pytest.raises(TypeError):
        client.export_keying_material(b"label", "context")
    with pytest.raises(LocalProtocolError):
        client.export_keying_material(b"label", b"", 0)
    assert client.export_keying_material(b"label", bytearray(b"ctx")) == \
        server.export_keying_material("label", b"ctx")
