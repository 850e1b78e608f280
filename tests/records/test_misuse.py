"""Sealer and Opener misuse: the same exception type, from both backends, for the same mistake
(TypeError for a wrong type, ValueError for a wrong value, the engine.errors record errors for
bad records)."""

from __future__ import annotations

import pytest

from engine.errors import (
    BackendError, RecordAuthenticationError, RecordError, RecordOverflowError,
)
from engine.records import Opener, Sealer

SUITE = "TLS_AES_128_GCM_SHA256"
KEY, IV = bytes(16), bytes(12)


@pytest.mark.parametrize("make, error", [
    (lambda b: Sealer(SUITE, bytes(15), IV, backend=b), ValueError),
    (lambda b: Sealer(SUITE, bytes(32), IV, backend=b), ValueError),
    (lambda b: Sealer("TLS_CHACHA20_POLY1305_SHA256", KEY, IV, backend=b), ValueError),
    (lambda b: Sealer(SUITE, KEY, bytes(11), backend=b), ValueError),
    (lambda b: Sealer(SUITE, "k" * 16, IV, backend=b), TypeError),
    (lambda b: Sealer("TLS_NULL_WITH_NULL_NULL", KEY, IV, backend=b), ValueError),
    (lambda b: Sealer(None, KEY, IV, backend=b), ValueError),
    (lambda b: Opener(SUITE, KEY, IV, seq=-1, backend=b), ValueError),
    (lambda b: Opener(SUITE, KEY, IV, seq=2 ** 64 + 1, backend=b), ValueError),
    (lambda b: Opener(SUITE, KEY, IV, seq="0", backend=b), TypeError),
    (lambda b: Sealer(SUITE, KEY, IV, backend="fastest"), BackendError),
])
def test_a_bad_key_iv_suite_or_seq_is_refused_alike(backend, make, error):
    with pytest.raises(error):
        make(backend)


@pytest.mark.parametrize("options, error", [
    ({"max_fragment": 0}, ValueError),
    ({"max_fragment": 16385}, ValueError),
    ({"pad_to": -1}, ValueError),
    ({"content_type": 0}, ValueError),
    ({"content_type": 256}, ValueError),
    ({"threads": 0}, ValueError),
])
def test_bad_seal_options_are_value_errors(backend, options, error):
    with pytest.raises(error):
        Sealer(SUITE, KEY, IV, backend=backend).seal(b"data", **options)


@pytest.mark.parametrize("data", ["text", None, 5, [1, 2]])
def test_sealing_or_opening_a_non_bytes_is_a_type_error(backend, data):
    with pytest.raises(TypeError):
        Sealer(SUITE, KEY, IV, backend=backend).seal(data)
    with pytest.raises(TypeError):
        Opener(SUITE, KEY, IV, backend=backend).open(data)


def test_the_last_sequence_number_is_used_and_then_refused(backend):
    sealer = Sealer(SUITE, KEY, IV, seq=2 ** 64 - 1, backend=backend)
    assert sealer.seal(b"x")
    with pytest.raises(RecordError):
        sealer.seal(b"x")


@pytest.mark.parametrize("wire, error", [
    (b"\x17\x03\x03\x00\x05abcde", RecordAuthenticationError),
    (b"\x17\x03\x03\x00\x00", RecordAuthenticationError),
    (b"\x17\x03\x03\x00\x10" + bytes(16), RecordAuthenticationError),
    (b"\x17\x03\x03\xff\xff", RecordOverflowError),
])
def test_opening_garbage_is_a_record_error_and_releases_nothing(backend, wire, error):
    opener = Opener(SUITE, KEY, IV, backend=backend)
    with pytest.raises(error) as info:
        opener.open(wire)
    assert info.value.segments == [] and info.value.consumed == 0


def test_records_of_another_type_or_incomplete_are_left_alone(backend):
    opener = Opener(SUITE, KEY, IV, backend=backend)
    assert opener.open(b"\x16\x03\x03\x00\x01\x01") == ([], 0)
    assert opener.open(b"\x17\x03\x03\x00\x20abc") == ([], 0)
    assert opener.seq == 0
