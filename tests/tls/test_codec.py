"""Handshake messages: RFC 8448 golden bytes, round trips, and malformed input."""

from __future__ import annotations

import pytest
from cryptography import x509
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.tls import tls_rfc8448 as V
from engine.errors import DecodeError, IllegalParameterError
from engine.tls import codec, signatures
from engine.tls.constants import HELLO_RETRY_REQUEST_RANDOM, is_grease
from engine.tls.wire import Reader


def h(text: str) -> bytes:
    return bytes.fromhex(text)


def body(message_hex: str) -> bytes:
    return h(message_hex)[4:]


# --- RFC 8448 section 3 messages ---------------------------------------------------------


def test_rfc8448_client_hello_parses():
    hello = codec.parse_client_hello(body(V.CLIENT_HELLO))
    assert hello.random.hex().startswith("cb34ecb1")
    assert hello.legacy_session_id == b""
    assert hello.cipher_suites == [0x1301, 0x1303, 0x1302]
    assert hello.server_name == "server"
    assert hello.supported_versions == [0x0304]
    assert hello.supported_groups == [0x1D, 0x17, 0x18, 0x19, 0x100, 0x101, 0x102, 0x103, 0x104]
    assert hello.key_share == [(0x1D, h(V.CLIENT_PUBLIC))]
    assert 0x0804 in hello.signature_algorithms
    assert hello.psk_key_exchange_modes == b"\x01"
    # renegotiation_info, session_ticket and record_size_limit are kept, not understood
    assert [t for t, _ in hello.other_extensions] == [0xFF01, 0x23, 0x1C]


def test_client_hello_legacy_version_is_kept_and_written():
    hello = codec.parse_client_hello(body(V.CLIENT_HELLO))
    assert hello.legacy_version == 0x0303
    hello.legacy_version = 0x0300
    assert codec.build_client_hello(hello)[4:6] == b"\x03\x00"
    assert codec.parse_client_hello(codec.build_client_hello(hello)[4:]).legacy_version == 0x0300


def test_rfc8448_server_hello_builds_to_the_same_bytes():
    hello = codec.parse_server_hello(body(V.SERVER_HELLO))
    assert hello.cipher_suite == 0x1301
    assert hello.key_share == (0x1D, h(V.SERVER_PUBLIC))
    assert hello.supported_version == 0x0304
    assert not hello.is_hello_retry_request
    assert codec.build_server_hello(hello) == h(V.SERVER_HELLO)


def test_rfc8448_encrypted_extensions_parse():
    message = codec.parse_encrypted_extensions(body(V.ENCRYPTED_EXTENSIONS))
    assert message.server_name_acknowledged
    assert message.supported_groups[0] == 0x1D
    assert message.alpn_protocol is None
    assert [t for t, _ in message.other_extensions] == [0x1C]


def test_rfc8448_certificate_builds_to_the_same_bytes():
    message = codec.parse_certificate(body(V.CERTIFICATE))
    assert message.certificate_request_context == b""
    assert len(message.certificate_list) == 1
    assert codec.build_certificate(message) == h(V.CERTIFICATE)


def test_rfc8448_certificate_verify_builds_and_verifies():
    message = codec.parse_certificate_verify(body(V.CERTIFICATE_VERIFY))
    assert message.algorithm == 0x0804
    assert codec.build_certificate_verify(message) == h(V.CERTIFICATE_VERIFY)
    from engine.tls.key_schedule import KeySchedule
    from engine.tls.constants import SUITE_BY_NAME

    schedule = KeySchedule(SUITE_BY_NAME["TLS_AES_128_GCM_SHA256"])
    for part in (V.CLIENT_HELLO, V.SERVER_HELLO, V.ENCRYPTED_EXTENSIONS, V.CERTIFICATE):
        schedule.update(h(part))
    der = codec.parse_certificate(body(V.CERTIFICATE)).certificate_list[0][0]
    key = x509.load_der_x509_certificate(der).public_key()
    content = signatures.signed_content(signatures.SERVER_CONTEXT, schedule.transcript_hash())
    signatures.verify(key, "rsa_pss_rsae_sha256", content, message.signature)


def test_rfc8448_finished_messages():
    assert codec.build_finished(codec.parse_finished(body(V.SERVER_FINISHED), 32)) == h(V.SERVER_FINISHED)
    assert codec.build_finished(codec.parse_finished(body(V.CLIENT_FINISHED), 32)) == h(V.CLIENT_FINISHED)


def test_rfc8448_new_session_ticket_parses_and_rebuilds():
    ticket = codec.parse_new_session_ticket(body(V.NEW_SESSION_TICKET))
    assert ticket.ticket_lifetime == 30
    assert len(ticket.ticket) == 0xB2
    assert ticket.ticket_nonce == h("0000") and ticket.ticket_age_add == 0xFAD6AAC5
    assert ticket.max_early_data == 0x400 and ticket.extensions == []  # early_data, decoded
    assert codec.build_new_session_ticket(ticket) == h(V.NEW_SESSION_TICKET)


# --- RFC 8448 section 4 messages (Resumed 0-RTT Handshake) ----------------------------------


def test_rfc8448_resumed_client_hello_offers_the_ticket_and_early_data():
    message = h(V.R_CLIENT_HELLO_PREFIX) + h(V.R_BINDERS)
    hello = codec.parse_client_hello(message[4:])
    assert hello.early_data is True
    psk = hello.pre_shared_key
    ticket = codec.parse_new_session_ticket(body(V.NEW_SESSION_TICKET))
    assert psk.identities == [(ticket.ticket, 0xFAD6AACB)]
    assert psk.binders == [h(V.R_BINDER)]
    assert message[:len(message) - psk.binders_size] == h(V.R_CLIENT_HELLO_PREFIX)
    assert codec.build_client_hello(hello).endswith(h(V.R_BINDERS))


def test_rfc8448_resumed_server_hello_selects_identity_zero():
    hello = codec.parse_server_hello(body(V.R_SERVER_HELLO))
    assert hello.pre_shared_key == 0 and hello.other_extensions == []
    assert hello.key_share == (0x1D, h(V.R_SERVER_PUBLIC))
    rebuilt = codec.build_server_hello(hello)
    assert codec.parse_server_hello(rebuilt[4:]) == hello


def test_rfc8448_resumed_encrypted_extensions_accept_early_data():
    extensions = codec.parse_encrypted_extensions(body(V.R_ENCRYPTED_EXTENSIONS))
    assert extensions.early_data is True and extensions.other_extensions == [(0x1C, h("4001"))]
    assert extensions.supported_groups is not None


def test_rfc8448_end_of_early_data():
    assert codec.END_OF_EARLY_DATA == h(V.R_END_OF_EARLY_DATA)
    codec.parse_end_of_early_data(b"")
    with pytest.raises(DecodeError):
        codec.parse_end_of_early_data(b"\x00")


@pytest.mark.parametrize("extension_body,error", [
    (h("0007") + h("0001aa00000000") + h("0021") + h("20") + bytes(32), None),
    (h("0000") + h("0021") + h("20") + bytes(32), DecodeError),  # no identity
    (h("0007") + h("0001aa00000000") + h("0000"), DecodeError),  # no binder
    (h("0007") + h("0001aa00000000") + h("0011") + h("10") + bytes(16), DecodeError),  # short
    (h("000e") + h("0001aa00000000") * 2 + h("0021") + h("20") + bytes(32),
     IllegalParameterError),  # two identities, one binder
    (h("0007") + h("0001aa00000000") + h("0021") + h("20") + bytes(32) + b"x", DecodeError),
], ids=["well-formed", "no-identity", "no-binder", "short-binder", "count", "trailing"])
def test_offered_psks_are_checked(extension_body, error):
    from engine.tls import extensions

    if error is None:
        psks = extensions.decode_offered_psks(extension_body)
        assert psks.identities == [(b"\xaa", 0)] and psks.binders_size == 35
    else:
        with pytest.raises(error):
            extensions.decode_offered_psks(extension_body)


def test_early_data_indications_are_empty():
    with pytest.raises(DecodeError):
        codec.parse_encrypted_extensions(h("0005") + h("002a0001") + b"\x00")


# --- golden bytes of our own builders ------------------------------------------------------


def test_key_update_golden_bytes():
    assert codec.build_key_update(codec.KeyUpdate(1)) == h("1800000101")
    assert codec.parse_key_update(h("00")).request_update == 0


def test_hello_retry_request_golden_bytes():
    retry = codec.ServerHello(HELLO_RETRY_REQUEST_RANDOM, b"", 0x1301, supported_version=0x0304,
                              selected_group=0x17, cookie=b"\xaa\xbb")
    expected = (
        "0200003c" "0303" + HELLO_RETRY_REQUEST_RANDOM.hex() + "00" "1301" "00"
        "0014" "003300020017" "002b00020304" "002c00040002aabb"
    )
    assert codec.build_server_hello(retry).hex() == expected
    parsed = codec.parse_server_hello(h(expected)[4:])
    assert parsed.is_hello_retry_request
    assert (parsed.selected_group, parsed.cookie) == (0x17, b"\xaa\xbb")


def test_certificate_request_golden_bytes():
    request = codec.CertificateRequest(b"", [0x0403, 0x0804])
    expected = "0d00000d" "00" "000a" "000d0006" "000404030804"
    assert codec.build_certificate_request(request).hex() == expected
    assert codec.parse_certificate_request(h(expected)[4:]) == request


def test_empty_encrypted_extensions_golden_bytes():
    assert codec.build_encrypted_extensions(codec.EncryptedExtensions()) == h("080000020000")


# --- round trips ------------------------------------------------------------------------


def test_client_hello_round_trip():
    hello = codec.ClientHello(
        random=bytes(range(32)), legacy_session_id=b"\x01" * 32, cipher_suites=[0x1301, 0x0A0A],
        server_name="example.com", supported_versions=[0x0304], supported_groups=[0x1D, 0x11EC],
        signature_algorithms=[0x0403], signature_algorithms_cert=[0x0401],
        key_share=[(0x1D, b"k" * 32)], alpn_protocols=[b"h2", b"http/1.1"], cookie=b"c",
        psk_key_exchange_modes=b"\x01", other_extensions=[(0x1A1A, b"")],
    )
    assert codec.parse_client_hello(codec.build_client_hello(hello)[4:]) == hello


def test_encrypted_extensions_round_trip():
    message = codec.EncryptedExtensions(alpn_protocol=b"h2", server_name_acknowledged=True)
    assert codec.parse_encrypted_extensions(codec.build_encrypted_extensions(message)[4:]) == message


def test_certificate_round_trip_with_context_and_extensions():
    message = codec.Certificate(b"ctx", [(b"\x30\x03abc", b""), (b"\x30\x01z", b"\x00\x05\x00\x00")])
    assert codec.parse_certificate(codec.build_certificate(message)[4:]) == message


def test_server_hello_round_trip():
    hello = codec.ServerHello(b"r" * 32, b"s" * 32, 0x1302, 0x0304, key_share=(0x17, b"\x04" + b"p" * 64))
    assert codec.parse_server_hello(codec.build_server_hello(hello)[4:]) == hello


# --- malformed input ----------------------------------------------------------------------


def test_reader_vector_with_trailing_bytes_is_decode_error():
    reader = Reader(h("0003010203ff"))
    with pytest.raises(DecodeError):
        with reader.vector(2):
            reader.uint8()


def test_reader_short_data_is_decode_error():
    with pytest.raises(DecodeError):
        Reader(h("0005aabb")).opaque(2)


@pytest.mark.parametrize("cut", [1, 10, 40, 100, len(h(V.CLIENT_HELLO)) - 5])
def test_truncated_client_hello_is_decode_error(cut):
    with pytest.raises(DecodeError):
        codec.parse_client_hello(body(V.CLIENT_HELLO)[:cut])


def test_client_hello_with_trailing_byte_is_decode_error():
    with pytest.raises(DecodeError):
        codec.parse_client_hello(body(V.CLIENT_HELLO) + b"\x00")


def test_duplicate_extension_is_illegal_parameter():
    hello = codec.ClientHello(random=bytes(32), cipher_suites=[0x1301],
                              other_extensions=[(0x1234, b""), (0x1234, b"")])
    with pytest.raises(IllegalParameterError):
        codec.parse_client_hello(codec.build_client_hello(hello)[4:])


def test_duplicate_key_share_group_is_illegal_parameter():
    hello = codec.ClientHello(random=bytes(32), cipher_suites=[0x1301],
                              key_share=[(0x1D, b"a"), (0x1D, b"b")])
    with pytest.raises(IllegalParameterError):
        codec.parse_client_hello(codec.build_client_hello(hello)[4:])


@pytest.mark.parametrize("shares_hex,error", [
    ("0004001d0000", IllegalParameterError),  # empty key_exchange
    ("0009001d00016100170000", IllegalParameterError),  # the second one empty
    ("0006001d000161", DecodeError),  # the list length says 6, 5 bytes follow
    ("0003001d00", DecodeError),  # entry header truncated
    ("0006001d00056161", DecodeError),  # key_exchange overruns the list
])
def test_key_share_list_faults(shares_hex, error):
    from engine.tls.extensions import decode_client_shares

    with pytest.raises(error):
        decode_client_shares(h(shares_hex))


def test_finished_of_wrong_length_is_decode_error():
    with pytest.raises(DecodeError):
        codec.parse_finished(b"\x00" * 31, 32)


def test_key_update_with_bad_request_value_is_illegal_parameter():
    with pytest.raises(IllegalParameterError):
        codec.parse_key_update(b"\x02")


def test_grease_values():
    assert all(is_grease(v) for v in (0x0A0A, 0x1A1A, 0xFAFA))
    assert not any(is_grease(v) for v in (0x0A1A, 0x1301, 0x001D))


@pytest.mark.parametrize("body", ["", "0002", "000400170018ff", "00030017", "0000", "0006001700"])
def test_malformed_uint16_lists_are_decode_error(body):
    from engine.tls.extensions import decode_uint16_list

    with pytest.raises(DecodeError):
        decode_uint16_list(h(body))


@pytest.mark.parametrize("body", ["", "00", "030304", "0303040303", "05030403"])
def test_malformed_supported_versions_are_decode_error(body):
    from engine.tls.extensions import decode_supported_versions_list

    with pytest.raises(DecodeError):
        decode_supported_versions_list(h(body))


def test_well_formed_lists_decode():
    from engine.tls.extensions import decode_supported_versions_list, decode_uint16_list

    assert decode_uint16_list(h("0004001d0017")) == [0x1D, 0x17]
    assert decode_supported_versions_list(h("0403040303")) == [0x0304, 0x0303]


PARSERS = [
    codec.parse_client_hello, codec.parse_server_hello, codec.parse_encrypted_extensions,
    codec.parse_certificate_request, codec.parse_certificate, codec.parse_certificate_verify,
    codec.parse_key_update, codec.parse_new_session_ticket,
    lambda data: codec.parse_finished(data, 32),
]


@pytest.mark.parametrize("parse", PARSERS)
@settings(max_examples=150, deadline=None)
@given(data=st.binary(max_size=300))
def test_parsers_raise_only_alert_errors_on_random_bytes(parse, data):
    try:
        parse(data)
    except (DecodeError, IllegalParameterError):
        pass


@pytest.mark.parametrize("message", [V.CLIENT_HELLO, V.SERVER_HELLO, V.ENCRYPTED_EXTENSIONS,
                                     V.CERTIFICATE, V.CERTIFICATE_VERIFY, V.NEW_SESSION_TICKET])
@settings(max_examples=100, deadline=None)
@given(position=st.integers(0, 10_000), value=st.integers(0, 255))
def test_parsers_on_mutated_rfc8448_messages(message, position, value):
    data = bytearray(body(message))
    data[position % len(data)] = value
    parse = {1: codec.parse_client_hello, 2: codec.parse_server_hello,
             8: codec.parse_encrypted_extensions, 11: codec.parse_certificate,
             15: codec.parse_certificate_verify, 4: codec.parse_new_session_ticket}[h(message)[0]]
    try:
        parse(bytes(data))
    except (DecodeError, IllegalParameterError):
        pass
