"""The record layer of a connection (engine.records.RecordLayer), in each backend and against
each other: what is written comes out as the same bytes, and what is read gives the same
results however the received bytes are cut (RFC 8446 section 5)."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.records import SUITES, Opener, RecordLayer, Sealer, Stop
from engine._backend import native_records
from engine.records._suites import suite_named


KEY_SIZES = {"TLS_AES_128_GCM_SHA256": 16, "TLS_AES_256_GCM_SHA384": 32,
             "TLS_CHACHA20_POLY1305_SHA256": 32}
SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SUITE = "TLS_AES_128_GCM_SHA256"
KEY, IV = bytes(range(16)), bytes(range(50, 62))
needs_native = pytest.mark.skipif(
    not native_records(), reason="the native extension with record protection is not built "
    "(python setup.py build_ext --inplace)")


def layer(backend, write_key=None, read_key=None):
    records = RecordLayer(backend)
    for write, keys in ((True, write_key), (False, read_key)):
        if keys is not None:
            records.set_key(write, suite_named(keys[0]), keys[1], keys[2])
    return records


def read_all(records, pieces) -> list:
    """Feed ``pieces`` one read each, reading on after every handed-over record; the results
    as a list of ("data", bytes) and ("record", type, payload, protected), data merged."""
    results = []

    def add_data(data):
        if results and results[-1][0] == "data":
            results[-1] = ("data", results[-1][1] + data)
        else:
            results.append(("data", data))

    for piece in pieces:
        data = piece
        while True:
            plaintext = records.read(data)
            data = b""
            if plaintext:
                add_data(plaintext)
            if records.stop == Stop.RECORD:
                content_type, payload, protected, complete = records.record
                if not complete:
                    break  # the rest of it comes with a later piece
                results.append(("record", content_type, payload, protected))
                continue
            if records.stop != Stop.OK:
                results.append(("stop", int(records.stop), records.stop_length))
            break
    return results


# --- writing -------------------------------------------------------------------------------


def test_records_are_plaintext_until_a_write_key_is_set(backend):
    records = layer(backend)
    records.write(22, b"hello")
    records.write_plaintext(22, b"first", 0x0301)
    assert records.data_to_send() == b"\x16\x03\x03\x00\x05hello\x16\x03\x01\x00\x05first"


def test_a_plaintext_message_over_2_14_is_cut_into_records(backend):
    records = layer(backend)
    records.write(22, b"m" * 20000)
    wire = records.data_to_send()
    assert wire[:5] == b"\x16\x03\x03\x40\x00" and wire[5 + 16384:5 + 16384 + 5] == \
        b"\x16\x03\x03\x0e\x20"


def test_several_writes_come_out_as_one_buffer_in_order(backend):
    records = layer(backend, write_key=(SUITE, KEY, IV))
    for message in (b"one", b"two", b"three"):
        records.write(23, message)
    wire = records.data_to_send()
    assert records.data_to_send() == b""
    segments, consumed = Opener(SUITE, KEY, IV, backend=backend).open(wire)
    assert segments == [(23, b"one"), (23, b"two"), (23, b"three")] and consumed == len(wire)


def test_a_write_is_what_a_sealer_with_the_same_key_writes(backend):
    records = layer(backend, write_key=(SUITE, KEY, IV))
    sealer = Sealer(SUITE, KEY, IV, backend=backend)
    records.write(23, b"x" * 40000)
    records.write(22, b"handshake")
    assert records.data_to_send() == sealer.seal(b"x" * 40000) + sealer.seal(b"handshake",
                                                                             content_type=22)
    assert records.seq(True) == sealer.seq == 4


def test_a_write_says_when_the_key_nears_its_usage_limit(backend):
    records = RecordLayer(backend)
    records.set_key(True, suite_named(SUITE), KEY, IV, 3)
    assert [records.write(23, b"m") for _ in range(4)] == [0, 0, Stop.UPDATE, Stop.UPDATE]


def test_bytearray_and_memoryview_write_what_bytes_write(backend):
    wire = []
    for data in (b"abc" * 100, bytearray(b"abc" * 100), memoryview(b"abc" * 100)):
        records = layer(backend, write_key=(SUITE, KEY, IV))
        records.write(23, data)
        wire.append(records.data_to_send())
    assert wire[0] == wire[1] == wire[2]


@needs_native
@SETTINGS
@given(suite=st.sampled_from(SUITES), writes=st.lists(st.tuples(
    st.sampled_from([21, 22, 23]), st.binary(max_size=40000)), max_size=6),
    limits=st.tuples(st.integers(1, 2**14), st.integers(0, 600)))
def test_native_and_python_layers_write_the_same_bytes(suite, writes, limits):
    key, iv = os.urandom(KEY_SIZES[suite]), os.urandom(12)
    wire = {}
    for backend in ("native", "python"):
        records = layer(backend, write_key=(suite, key, iv))
        records.set_limits(*limits)
        for content_type, data in writes:
            records.write(content_type, data)
        wire[backend] = records.data_to_send()
    assert wire["native"] == wire["python"]


# --- reading -------------------------------------------------------------------------------


def test_application_data_in_a_row_comes_back_in_one_read(backend):
    sealer = Sealer(SUITE, KEY, IV, backend="python")
    wire = sealer.seal(b"a" * 50000) + sealer.seal(b"b" * 10)
    records = layer(backend, read_key=(SUITE, KEY, IV))
    assert records.read(wire) == b"a" * 50000 + b"b" * 10
    assert records.stop == Stop.OK and records.received == 0


def test_a_record_of_another_inner_type_is_handed_over_and_the_rest_kept(backend):
    sealer = Sealer(SUITE, KEY, IV, backend="python")
    wire = sealer.seal(b"data") + sealer.seal(b"\x18\x00\x00\x01\x00", content_type=22)
    wire += sealer.seal(b"after")
    records = layer(backend, read_key=(SUITE, KEY, IV))
    assert records.read(wire) == b"data"
    assert records.stop == Stop.RECORD
    assert records.record == (22, b"\x18\x00\x00\x01\x00", True, True)
    assert records.received == len(wire) - 2 * (22 + 4) - 1
    assert records.read(b"") == b"after" and records.stop == Stop.OK


def test_a_plaintext_record_is_handed_over_from_its_header(backend):
    records = layer(backend)
    assert records.read(b"\x16\x03\x03\x00\x05he") == b""
    assert records.stop == Stop.RECORD and records.record == (22, None, False, False)
    assert records.stop_length == 5
    assert records.read(b"llo") == b""
    assert records.record == (22, b"hello", False, True) and records.received == 0


def test_a_record_that_fails_authentication_stays_unread_and_can_be_skipped(backend):
    sealer = Sealer(SUITE, KEY, IV, backend="python")
    good = sealer.seal(b"good")
    bad = bytearray(Sealer(SUITE, KEY, IV, seq=1, backend="python").seal(b"bad"))
    bad[-1] ^= 1
    records = layer(backend, read_key=(SUITE, KEY, IV))
    assert records.read(good + bytes(bad)) == b"good"
    assert records.stop == Stop.AUTH and records.stop_length == len(bad) - 5
    assert records.received == len(bad)
    records.skip_record()
    assert records.received == 0 and records.seq(False) == 1


def test_an_oversized_header_stops_the_read(backend):
    records = layer(backend, read_key=(SUITE, KEY, IV))
    assert records.read(b"\x17\x03\x03\x41\x01") == b""
    assert records.stop == Stop.OVERFLOW and records.stop_length == 0x4101


@st.composite
def streams(draw):
    """A stream of protected records (application data of any size, some handshake records,
    some records padded) and cut points."""
    suite = draw(st.sampled_from(SUITES))
    key, iv = draw(st.binary(min_size=KEY_SIZES[suite], max_size=KEY_SIZES[suite])), \
        draw(st.binary(min_size=12, max_size=12))
    sealer = Sealer(suite, key, iv, backend="python")
    wire = b""
    for content_type, data, pad in draw(st.lists(st.tuples(
            st.sampled_from([23, 23, 23, 22, 21]), st.binary(max_size=3000),
            st.sampled_from([0, 0, 64, 1000])), max_size=12)):
        if content_type != 23 and not data:
            data = b"\x01"
        wire += sealer.seal(data, content_type=content_type, pad_to=pad,
                            max_fragment=draw(st.sampled_from([2**14, 700, 1])) if len(data) < 200
                            else 2**14)
    cuts = sorted(draw(st.lists(st.integers(0, len(wire)), max_size=30)))
    if draw(st.booleans()) and len(wire) < 2000:
        cuts = list(range(len(wire)))  # one byte at a time
    pieces = [wire[a:b] for a, b in zip([0] + cuts, cuts + [len(wire)])]
    return (suite, key, iv), wire, [p for p in pieces if p]


@needs_native
@SETTINGS
@given(stream=streams())
def test_any_cut_of_a_record_stream_reads_as_one_piece_in_both_backends(stream):
    keys, wire, pieces = stream
    whole = read_all(layer("python", read_key=keys), [wire])
    for backend in ("native", "python"):
        assert read_all(layer(backend, read_key=keys), pieces) == whole
        assert read_all(layer(backend, read_key=keys), [wire]) == whole


@needs_native
def test_the_stop_codes_are_the_extensions_own():
    from engine._backend import native

    _, lib = native()
    for stop in Stop:
        assert getattr(lib, "ENGINE_RECORDS_" + stop.name) == stop
    assert [s.code for s in map(suite_named, SUITES)] == [
        lib.ENGINE_SUITE_AES_128_GCM, lib.ENGINE_SUITE_AES_256_GCM,
        lib.ENGINE_SUITE_CHACHA20_POLY1305] == [0x1301, 0x1302, 0x1303]


@pytest.mark.parametrize("backend", ["python", pytest.param("native", marks=needs_native)])
def test_both_backends_provide_the_record_key_and_layer_interfaces(backend):
    from engine import _backend
    from engine.records._interface import RecordKey, RecordLayerCore

    suite = suite_named(SUITE)
    for encrypt in (True, False):
        assert isinstance(_backend.record_key(backend, suite, KEY, IV, encrypt), RecordKey)
    assert isinstance(RecordLayer(backend), RecordLayerCore)


@needs_native
def test_the_record_sizes_are_the_extensions_own():
    from engine._backend import native
    from engine.records import _suites

    _, lib = native()
    for name in ("HEADER_SIZE", "TAG_SIZE", "IV_SIZE", "MAX_FRAGMENT", "MAX_CIPHERTEXT"):
        assert getattr(lib, "ENGINE_RECORD_" + name) == getattr(_suites, name)
