"""The record layer's contract (RFC 8446 sections 5.1-5.4), checked in each backend."""

from __future__ import annotations

import os

import pytest

from engine.errors import (
    BackendError,
    RecordAuthenticationError,
    RecordError,
    RecordOverflowError,
    UnexpectedMessageError,
)
from engine.records import SUITES, Opener, Sealer
from engine._backend import native_records

KEY_SIZES = {"TLS_AES_128_GCM_SHA256": 16, "TLS_AES_256_GCM_SHA384": 32,
             "TLS_CHACHA20_POLY1305_SHA256": 32}


def pair(backend, suite="TLS_AES_128_GCM_SHA256", seq=0, opener_backend=None):
    key = bytes(range(KEY_SIZES[suite]))
    iv = bytes(range(100, 112))
    return (Sealer(suite, key, iv, seq=seq, backend=backend),
            Opener(suite, key, iv, seq=seq, backend=opener_backend or backend))


@pytest.mark.parametrize("suite", SUITES)
def test_round_trip_in_every_suite(backend, suite):
    sealer, opener = pair(backend, suite)
    data = os.urandom(40000)
    wire = sealer.seal(data)
    segments, consumed = opener.open(wire)
    assert consumed == len(wire) == 40000 + 3 * 22
    assert [t for t, _ in segments] == [23, 23, 23]
    assert b"".join(p for _, p in segments) == data
    assert sealer.seq == opener.seq == 3


def test_records_carry_header_type_23_version_0303_and_length(backend):
    sealer, _ = pair(backend)
    wire = sealer.seal(b"x" * 10, content_type=22)
    assert wire[:5] == bytes([23, 3, 3, 0, 10 + 1 + 16]) and len(wire) == 32


def test_empty_data_gives_no_records(backend):
    sealer, _ = pair(backend)
    assert sealer.seal(b"") == b"" and sealer.seq == 0
    assert sealer.seal_into(bytearray(10), b"") == 0


def test_max_fragment_cuts_the_data(backend):
    sealer, opener = pair(backend)
    wire = sealer.seal(b"a" * 25, max_fragment=10)
    segments, _ = opener.open(wire)
    assert [len(p) for _, p in segments] == [10, 10, 5]


def test_padding_rounds_the_inner_plaintext_up(backend):
    sealer, opener = pair(backend)
    wire = sealer.seal(b"a" * 100, max_fragment=50, pad_to=64)
    assert len(wire) == 2 * (5 + 64 + 16)
    assert opener.open(wire) == ([(23, b"a" * 50), (23, b"a" * 50)], len(wire))


def test_padding_never_passes_the_inner_plaintext_limit(backend):
    sealer, opener = pair(backend)
    wire = sealer.seal(b"a" * 16384, pad_to=10000)
    assert len(wire) == 5 + 16385 + 16
    assert opener.open(wire)[0] == [(23, b"a" * 16384)]


def test_seal_messages_makes_one_record_per_message(backend):
    sealer, opener = pair(backend)
    messages = [b"", b"one", os.urandom(16384), b"three"]
    wire = sealer.seal_messages(messages)
    assert sealer.seq == 4
    assert opener.open(wire) == ([(23, m) for m in messages], len(wire))


def test_seal_messages_refuses_a_message_over_2_14(backend):
    sealer, _ = pair(backend)
    with pytest.raises(ValueError):
        sealer.seal_messages([b"a", b"b" * 16385])
    assert sealer.seq == 0


def test_seal_messages_into_writes_what_seal_messages_gives(backend):
    messages = [b"", b"one", os.urandom(16384), b"three"]
    expected = pair(backend)[0].seal_messages(messages, pad_to=32, content_type=22)
    sealer, _ = pair(backend)
    buffer = bytearray(len(expected) + 7)
    written = sealer.seal_messages_into(buffer, messages, pad_to=32, content_type=22)
    assert written == len(expected) and bytes(buffer[:written]) == expected
    assert buffer[written:] == bytes(7) and sealer.seq == 4


def test_seal_messages_into_a_reused_buffer_goes_on_with_the_next_numbers(backend):
    sealer, opener = pair(backend)
    buffer = bytearray(100)
    wire = b""
    for message in (b"first", b"second"):
        wire += bytes(buffer[: sealer.seal_messages_into(buffer, [message])])
    assert opener.open(wire) == ([(23, b"first"), (23, b"second")], len(wire))


def test_seal_messages_into_refuses_a_small_buffer_before_writing(backend):
    sealer, _ = pair(backend)
    buffer = bytearray(b"\xaa" * 48)  # two records of 5 bytes need 2 * 27
    with pytest.raises(ValueError, match="54"):
        sealer.seal_messages_into(buffer, [b"hello", b"world"])
    assert buffer == b"\xaa" * 48 and sealer.seq == 0


def test_seal_messages_into_refuses_a_message_over_2_14(backend):
    sealer, _ = pair(backend)
    with pytest.raises(ValueError, match="2\\^14"):
        sealer.seal_messages_into(bytearray(40000), [b"a", b"b" * 16385])
    assert sealer.seq == 0


def test_seal_messages_of_nothing_is_nothing(backend):
    sealer, _ = pair(backend)
    assert sealer.seal_messages([]) == b""
    assert sealer.seal_messages_into(bytearray(10), iter([])) == 0
    assert sealer.seq == 0


def test_seal_messages_counts_bytes_not_items(backend):
    import array

    wide = array.array("H", [1, 2, 3])  # three items, six bytes
    sealer, opener = pair(backend)
    wire = sealer.seal_messages([b"ab", wide], pad_to=4)
    assert opener.open(wire)[0] == [(23, b"ab"), (23, wide.tobytes())]
    sealer, _ = pair(backend)
    buffer = bytearray(len(wire))
    assert sealer.seal_messages_into(buffer, (m for m in [b"ab", wide]), pad_to=4) == len(wire)
    assert buffer == wire


def test_seal_messages_goes_on_while_a_view_of_its_gathering_buffer_lives(backend):
    sealer, opener = pair(backend)
    wire = sealer.seal_messages([b"first"])
    held = sealer._gather.getbuffer()  # as a traceback keeping a view alive would
    wire += sealer.seal_messages([b"second", b"third"])
    held.release()
    assert opener.open(wire) == ([(23, b"first"), (23, b"second"), (23, b"third")], len(wire))


def test_seal_into_refuses_a_small_buffer_before_writing(backend):
    sealer, _ = pair(backend)
    buffer = bytearray(b"\xaa" * 30)
    with pytest.raises(ValueError):
        sealer.seal_into(buffer, b"x" * 10)
    assert buffer == b"\xaa" * 30 and sealer.seq == 0


def test_seal_into_writes_at_the_start_and_returns_the_length(backend):
    sealer, _ = pair(backend)
    reference, _ = pair(backend)
    buffer = bytearray(100)
    n = sealer.seal_into(memoryview(buffer), b"hello", max_fragment=2)
    assert n == 3 * 5 + 5 + 3 * 17
    assert bytes(buffer[:n]) == reference.seal(b"hello", max_fragment=2)


def test_open_stops_at_an_incomplete_record(backend):
    sealer, opener = pair(backend)
    wire = sealer.seal(b"a" * 30, max_fragment=10)
    segments, consumed = opener.open(wire[:-1])
    assert len(segments) == 2 and consumed == 2 * 32
    assert opener.open(wire[consumed:]) == ([(23, b"a" * 10)], 32)


def test_open_stops_before_a_record_of_another_outer_type(backend):
    sealer, opener = pair(backend)
    wire = sealer.seal(b"a" * 20, max_fragment=10)
    change_cipher_spec = bytes([20, 3, 3, 0, 1, 1])
    segments, consumed = opener.open(wire[:32] + change_cipher_spec + wire[32:])
    assert segments == [(23, b"a" * 10)] and consumed == 32 and opener.seq == 1


def test_open_stops_after_a_record_whose_inner_type_is_not_application_data(backend):
    sealer, opener = pair(backend)
    wire = sealer.seal(b"data") + sealer.seal(b"\x18\x00\x00\x01\x00", content_type=22)
    wire += sealer.seal(b"more")
    segments, consumed = opener.open(wire)
    assert segments == [(23, b"data"), (22, b"\x18\x00\x00\x01\x00")]
    assert consumed == len(wire) - (4 + 22) and opener.seq == 2


@pytest.mark.parametrize("position", [1, 2, 4, 5, 20, -1])
def test_a_tampered_record_fails_at_its_index_with_earlier_records_returned(backend, position):
    sealer, opener = pair(backend)
    wire = bytearray(sealer.seal(b"abc" * 20, max_fragment=20))
    wire[2 * 42 + (position % 42)] ^= 0x01
    with pytest.raises(RecordAuthenticationError) as info:
        opener.open(bytes(wire))
    assert info.value.index == 2
    assert info.value.segments == [(23, (b"abc" * 20)[:20]), (23, (b"abc" * 20)[20:40])]
    assert info.value.consumed == 84 and opener.seq == 2


def test_a_failed_record_leaves_no_plaintext_in_the_buffer(backend):
    sealer, opener = pair(backend)
    wire = bytearray(sealer.seal(b"secret!" * 3))
    wire[-1] ^= 0x80
    buffer = bytearray(b"\xee" * 64)
    with pytest.raises(RecordAuthenticationError) as info:
        opener.open_into(buffer, bytes(wire))
    assert info.value.index == 0
    assert buffer[: 21 + 1] == bytes(22) and b"secret" not in buffer


def test_a_record_too_short_for_a_tag_fails_authentication(backend):
    _, opener = pair(backend)
    with pytest.raises(RecordAuthenticationError):
        opener.open(bytes([23, 3, 3, 0, 3, 1, 2, 3]))


def test_a_record_longer_than_2_14_plus_256_overflows(backend):
    _, opener = pair(backend)
    length = 2**14 + 257
    with pytest.raises(RecordOverflowError):
        opener.open(bytes([23, 3, 3, length >> 8, length & 0xFF]))


def test_an_inner_plaintext_over_2_14_plus_1_overflows(backend):
    sealer, opener = pair(backend)
    wire = sealer.seal(b"ok")
    length = 2**14 + 1 + 16 + 1
    with pytest.raises(RecordOverflowError) as info:
        opener.open(wire + bytes([23, 3, 3, length >> 8, length & 0xFF]) + bytes(length))
    assert info.value.index == 1 and info.value.segments == [(23, b"ok")]


def test_an_all_zero_inner_plaintext_is_an_unexpected_message(backend):
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    key, iv = bytes(range(16)), bytes(range(100, 112))
    header = bytes([23, 3, 3, 0, 16 + 4])
    wire = header + AESGCM(key).encrypt(iv, bytes(4), header)
    opener = Opener("TLS_AES_128_GCM_SHA256", key, iv, backend=backend)
    with pytest.raises(UnexpectedMessageError) as info:
        opener.open(wire)
    assert info.value.index == 0


def test_the_header_as_received_is_the_additional_data(backend):
    sealer, opener = pair(backend)
    wire = bytearray(sealer.seal(b"hi"))
    wire[1:3] = b"\x03\x01"  # legacy_record_version is not checked, but it is authenticated
    with pytest.raises(RecordAuthenticationError):
        opener.open(bytes(wire))


def test_sealing_stops_before_the_sequence_number_wraps(backend):
    sealer, opener = pair(backend, seq=2**64 - 2)
    wire = sealer.seal(b"ab", max_fragment=1)
    assert sealer.seq == 2**64
    assert opener.open(wire) == ([(23, b"a"), (23, b"b")], len(wire))
    with pytest.raises(RecordError):
        sealer.seal(b"c")
    with pytest.raises(RecordError):
        pair(backend, seq=2**64 - 1)[0].seal(b"ab", max_fragment=1)


def test_opening_past_the_last_sequence_number_is_an_error(backend):
    sealer, _ = pair(backend, seq=2**64 - 1)
    _, opener = pair(backend, seq=2**64)
    with pytest.raises(RecordError):
        opener.open(sealer.seal(b"x"))


def test_open_into_stops_when_the_buffer_is_full(backend):
    sealer, opener = pair(backend)
    wire = sealer.seal(b"z" * 30, max_fragment=10)
    buffer = bytearray(25)
    segments, consumed = opener.open_into(buffer, wire)
    assert segments == [(23, 0, 10), (23, 10, 10)] and consumed == 64
    with pytest.raises(ValueError):
        opener.open_into(bytearray(10), wire[consumed:])


@pytest.mark.parametrize("bad", [
    dict(content_type=0), dict(content_type=256), dict(max_fragment=0),
    dict(max_fragment=2**14 + 1), dict(pad_to=-1), dict(threads=0),
])
def test_bad_seal_options_are_value_errors(backend, bad):
    sealer, _ = pair(backend)
    with pytest.raises(ValueError):
        sealer.seal(b"x", **bad)


def test_bad_keys_and_suites_are_value_errors(backend):
    with pytest.raises(ValueError):
        Sealer("TLS_AES_128_CCM_SHA256", bytes(16), bytes(12), backend=backend)
    with pytest.raises(ValueError):
        Sealer("TLS_AES_256_GCM_SHA384", bytes(16), bytes(12), backend=backend)
    with pytest.raises(ValueError):
        Opener("TLS_AES_128_GCM_SHA256", bytes(16), bytes(8), backend=backend)


def test_the_environment_picks_the_backend(monkeypatch):
    monkeypatch.setenv("ENGINE_BACKEND", "python")
    assert Sealer("TLS_AES_128_GCM_SHA256", bytes(16), bytes(12)).backend == "python"
    monkeypatch.setenv("ENGINE_BACKEND", "native")
    if native_records():
        assert Opener("TLS_AES_128_GCM_SHA256", bytes(16), bytes(12)).backend == "native"
    else:
        with pytest.raises(BackendError):
            Opener("TLS_AES_128_GCM_SHA256", bytes(16), bytes(12))


def test_a_view_of_the_wire_can_be_released_after_an_error(backend):
    sealer, opener = pair(backend)
    wire = bytearray(sealer.seal(b"ok") + sealer.seal(b"bad"))
    wire[-1] ^= 1
    view = memoryview(wire)
    with pytest.raises(RecordAuthenticationError) as info:
        opener.open(view)
    assert info.value.segments == [(23, b"ok")]
    view.release()  # no buffer is still held by the record layer
    wire += b"more"  # and the bytearray can grow again


@pytest.mark.parametrize("threads", [1, 2])
def test_a_long_batch_of_small_records_opens_in_one_call(backend, threads):
    sealer, opener = pair(backend)
    messages = [os.urandom(n % 50) for n in range(1000)]
    wire = sealer.seal_messages(messages[:300], pad_to=16)
    wire += sealer.seal_messages([b"\x18\x00\x00\x01\x00"], content_type=22)
    wire += sealer.seal_messages(messages[300:])
    buffer = bytearray(len(wire))
    segments, consumed = opener.open_into(buffer, wire, threads=threads)
    assert len(segments) == 301 and segments[-1][0] == 22 and opener.seq == 301
    offsets = [o for _, o, _ in segments]
    assert offsets == sorted(offsets) and offsets[0] == 0
    assert [bytes(buffer[o : o + n]) for _, o, n in segments[:300]] == messages[:300]
    rest = Opener("TLS_AES_128_GCM_SHA256", bytes(range(16)), bytes(range(100, 112)), seq=301,
                  backend=backend)
    tampered = bytearray(wire[consumed:])
    tampered[150 * 22 + 200] ^= 1  # somewhere in record 150 or so of the rest
    with pytest.raises(RecordAuthenticationError) as info:
        rest.open(bytes(tampered), threads=threads)
    assert 0 < info.value.index < 200
    assert [p for _, p in info.value.segments] == messages[300 : 300 + info.value.index]
