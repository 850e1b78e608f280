"""The native backend and the Python twin give the same bytes, in both directions.

Hypothesis draws suites, keys, IVs, sequence numbers (also next to 2^64), sizes, fragment sizes
and padding; each case compares native sealing with Python sealing byte for byte, opens each
backend's records with the other, and checks that tampering with a byte of a record makes
opening stop at that record, with the records before it returned, identically in both.
Several threads must give exactly what one thread gives.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.errors import EngineError, RecordError
from engine.records import SUITES, Opener, Sealer
from engine._backend import native_records


pytestmark = pytest.mark.skipif(
    not native_records(),
    reason="the native extension with record protection is not built "
    "(python setup.py build_ext --inplace)",
)

KEY_SIZES = {"TLS_AES_128_GCM_SHA256": 16, "TLS_AES_256_GCM_SHA384": 32,
             "TLS_CHACHA20_POLY1305_SHA256": 32}
SETTINGS = settings(max_examples=120, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@st.composite
def keys(draw):
    suite = draw(st.sampled_from(SUITES))
    key = draw(st.binary(min_size=KEY_SIZES[suite], max_size=KEY_SIZES[suite]))
    iv = draw(st.binary(min_size=12, max_size=12))
    seq = draw(st.one_of(st.integers(0, 1000), st.integers(2**64 - 40, 2**64),
                         st.integers(0, 2**64)))
    return suite, key, iv, seq


sizes = st.one_of(st.integers(0, 100), st.integers(0, 70000), st.sampled_from([16384, 16385]))
fragments = st.one_of(st.just(16384), st.integers(1, 16384), st.sampled_from([1, 17, 1000]))
paddings = st.one_of(st.just(0), st.integers(1, 300), st.integers(1, 20000))


def outcome(opener, wire, threads=1, into=False):
    """What opening gives, as a comparable value (result or error with its attributes)."""
    try:
        if into:
            buffer = bytearray(len(wire))
            segments, consumed = opener.open_into(buffer, wire, threads=threads)
            segments = [(t, bytes(buffer[o : o + n])) for t, o, n in segments]
        else:
            segments, consumed = opener.open(wire, threads=threads)
        return ("ok", segments, consumed, opener.seq)
    except (EngineError, ValueError) as exc:
        if into:
            return (type(exc).__name__, exc.index, len(exc.segments), exc.consumed, opener.seq)
        return (type(exc).__name__, exc.index, exc.segments, exc.consumed, opener.seq)


def sealed_by(backend, suite, key, iv, seq, data, **options):
    sealer = Sealer(suite, key, iv, seq=seq, backend=backend)
    try:
        return sealer.seal(data, **options), sealer.seq
    except RecordError:
        return None, sealer.seq


@SETTINGS
@given(keys(), sizes, fragments, paddings, st.integers(1, 3), st.integers(1, 255))
def test_native_sealing_equals_python_sealing(k, size, max_fragment, pad_to, threads, ctype):
    suite, key, iv, seq = k
    data = os.urandom(size)
    options = dict(max_fragment=max_fragment, pad_to=pad_to, content_type=ctype)
    native = sealed_by("native", suite, key, iv, seq, data, threads=threads, **options)
    python = sealed_by("python", suite, key, iv, seq, data, **options)
    assert native == python


@SETTINGS
@given(keys(), sizes, fragments, paddings, st.integers(1, 3), st.booleans())
def test_each_backend_opens_the_others_records(k, size, max_fragment, pad_to, threads, into):
    suite, key, iv, seq = k
    data = os.urandom(size)
    sealed = {}
    for backend in ("native", "python"):
        sealed[backend], _ = sealed_by(backend, suite, key, iv, seq, data,
                                       max_fragment=max_fragment, pad_to=pad_to)
    if sealed["python"] is None:
        return
    for sealer_backend, opener_backend in (("python", "native"), ("native", "python")):
        opener = Opener(suite, key, iv, seq=seq, backend=opener_backend)
        kind, segments, consumed, next_seq = outcome(opener, sealed[sealer_backend], threads, into)
        assert kind == "ok" and consumed == len(sealed[sealer_backend])
        assert b"".join(p for _, p in segments) == data
        assert all(t == 23 for t, _ in segments)


@SETTINGS
@given(keys(), st.lists(st.integers(0, 2000), min_size=1, max_size=12), paddings,
       st.data(), st.integers(1, 3))
def test_tampering_stops_both_backends_at_the_same_record(k, lengths, pad_to, data, threads):
    suite, key, iv, _ = k
    messages = [os.urandom(n) for n in lengths]
    wire = bytearray(Sealer(suite, key, iv, backend="python").seal_messages(messages, pad_to=pad_to))
    starts, pos = [], 0
    while pos < len(wire):
        starts.append(pos)
        pos += 5 + int.from_bytes(wire[pos + 3 : pos + 5], "big")
    index = data.draw(st.integers(0, len(starts) - 1), label="record")
    end = starts[index + 1] if index + 1 < len(starts) else len(wire)
    where = data.draw(st.integers(starts[index], end - 1), label="byte")
    wire[where] ^= data.draw(st.integers(1, 255), label="flip")
    results = [outcome(Opener(suite, key, iv, backend=b), bytes(wire), t, into)
               for b, t in (("python", 1), ("native", 1), ("native", threads))
               for into in (False, True)]
    assert results[0] == results[2] == results[4]
    assert results[1] == results[3] == results[5]
    kind = results[0][0]
    earlier = [(23, m) for m in messages[:index]]
    if kind == "ok":
        # only a changed header can make a record look like a stop rather than a fault
        assert where - starts[index] in (0, 3, 4)
        assert results[0][1] == earlier and results[0][2] == starts[index]
    else:
        assert results[0][1:4] == (index, earlier, starts[index])
        if where - starts[index] not in (3, 4):
            assert kind == "RecordAuthenticationError"


@SETTINGS
@given(keys(), st.lists(st.tuples(st.integers(0, 3000), st.sampled_from([23, 23, 23, 22, 21])),
                        min_size=1, max_size=40),
       paddings, st.integers(2, 4))
def test_several_threads_open_exactly_what_one_thread_opens(k, pieces, pad_to, threads):
    suite, key, iv, seq = k
    seq = min(seq, 2**64 - len(pieces))
    sealer = Sealer(suite, key, iv, seq=seq, backend="native")
    wire = b"".join(sealer.seal_messages([os.urandom(n)], content_type=t, pad_to=pad_to)
                    for n, t in pieces)
    one, many = bytearray(len(wire)), bytearray(len(wire))
    a = Opener(suite, key, iv, seq=seq, backend="native").open_into(one, wire, threads=1)
    b = Opener(suite, key, iv, seq=seq, backend="native").open_into(many, wire, threads=threads)
    assert a == b
    end = sum(n for _, _, n in a[0])
    assert one[:end] == many[:end]


def test_threads_give_the_same_records_for_megabytes(native_big):
    data, suite, key, iv = native_big
    one = Sealer(suite, key, iv, seq=7, backend="native").seal(data, threads=1)
    two = Sealer(suite, key, iv, seq=7, backend="native").seal(data, threads=2)
    three = Sealer(suite, key, iv, seq=7, backend="native").seal(data, threads=3, pad_to=4096)
    assert one == two == Sealer(suite, key, iv, seq=7, backend="python").seal(data)
    for wire in (one, three):
        for threads in (1, 2, 3):
            segments, consumed = Opener(suite, key, iv, seq=7, backend="native").open(
                wire, threads=threads)
            assert consumed == len(wire) and b"".join(p for _, p in segments) == data


@pytest.fixture(scope="module", params=SUITES)
def native_big(request):
    size = 3 * 2**20 + 12345
    return os.urandom(size), request.param, os.urandom(KEY_SIZES[request.param]), os.urandom(12)


def test_a_bad_record_in_a_later_run_is_reported_with_all_before_it():
    suite, key, iv = "TLS_AES_256_GCM_SHA384", os.urandom(32), os.urandom(12)
    data = os.urandom(64 * 16384)
    wire = bytearray(Sealer(suite, key, iv, backend="native").seal(data, max_fragment=16384))
    bad = 50
    wire[bad * (16384 + 22) + 100] ^= 1
    buffer = bytearray(b"\xff" * len(wire))
    with pytest.raises(RecordError) as info:
        Opener(suite, key, iv, backend="native").open_into(buffer, bytes(wire), threads=2)
    assert info.value.index == bad and info.value.consumed == bad * (16384 + 22)
    assert buffer[: bad * 16384] == data[: bad * 16384]
    assert buffer[bad * 16384 : (bad + 1) * 16384 + 1] == bytes(16385)
    assert set(buffer[bad * 16384 :]) <= {0, 0xFF}  # zeroed or never written


def test_a_key_update_in_a_threaded_batch_stops_the_batch_after_it():
    suite, key, iv = "TLS_CHACHA20_POLY1305_SHA256", os.urandom(32), os.urandom(12)
    sealer = Sealer(suite, key, iv, backend="native")
    first = os.urandom(40 * 16384)
    key_update = b"\x18\x00\x00\x01\x00"
    wire = sealer.seal(first) + sealer.seal(key_update, content_type=22) + os.urandom(50000)
    opener = Opener(suite, key, iv, backend="native")
    segments, consumed = opener.open(wire, threads=2)
    assert segments[-1] == (22, key_update) and len(segments) == 41
    assert b"".join(p for _, p in segments[:-1]) == first
    assert consumed == len(wire) - 50000 and opener.seq == 41


@settings(max_examples=30, deadline=None)
@given(keys(), st.lists(st.integers(0, 3000), min_size=1, max_size=60), paddings,
       st.integers(2, 4))
def test_several_threads_seal_messages_exactly_as_one(k, lengths, pad_to, threads):
    suite, key, iv, seq = k
    seq = min(seq, 2**64 - len(lengths))
    messages = [os.urandom(n) for n in lengths]
    one = Sealer(suite, key, iv, seq=seq, backend="native").seal_messages(messages, pad_to=pad_to)
    many = Sealer(suite, key, iv, seq=seq, backend="native").seal_messages(
        messages, pad_to=pad_to, threads=threads)
    python = Sealer(suite, key, iv, seq=seq, backend="python").seal_messages(
        messages, pad_to=pad_to)
    assert one == many == python


@SETTINGS
@given(keys(), st.lists(st.one_of(st.integers(0, 100), st.sampled_from([0, 16384])), max_size=20),
       paddings, st.integers(1, 255), st.integers(1, 3))
def test_seal_messages_into_gives_the_python_twins_bytes(k, lengths, pad_to, ctype, threads):
    suite, key, iv, seq = k
    messages = [os.urandom(n) for n in lengths]
    options = dict(pad_to=pad_to, content_type=ctype)
    python = Sealer(suite, key, iv, seq=seq, backend="python")
    native = Sealer(suite, key, iv, seq=seq, backend="native")
    try:
        expected = python.seal_messages(messages, **options)
    except RecordError:  # sequence numbers used up: the native side refuses as well
        with pytest.raises(RecordError):
            # room for 20 full records padded to 2^14 + 1: the capacity is not what refuses
            native.seal_messages_into(bytearray(20 * 16406), messages, threads=threads,
                                      **options)
        assert native.seq == seq
        return
    buffer = bytearray(len(expected))
    assert native.seal_messages_into(buffer, messages, threads=threads, **options) == len(buffer)
    assert buffer == expected and native.seq == python.seq


def test_sealing_refuses_overlapping_buffers():
    sealer = Sealer("TLS_AES_128_GCM_SHA256", bytes(16), bytes(12), backend="native")
    buffer = bytearray(200)
    view = memoryview(buffer)
    with pytest.raises(ValueError):
        sealer.seal_into(view[50:], view[:60])
    assert sealer.seq == 0


def test_threads_still_work_in_a_forked_child():
    import multiprocessing

    suite, key, iv = "TLS_AES_128_GCM_SHA256", bytes(16), bytes(12)
    data = os.urandom(300000)
    expected = Sealer(suite, key, iv, backend="native").seal(data, max_fragment=4096, threads=2)
    context = multiprocessing.get_context("fork")
    with context.Pool(1) as pool:
        child = pool.apply(_seal_in_child, (suite, key, iv, data))
    assert child == expected


def _seal_in_child(suite, key, iv, data):
    return Sealer(suite, key, iv, backend="native").seal(data, max_fragment=4096, threads=2)


def test_one_sealer_shared_by_python_threads_gives_every_record_its_own_number():
    import threading

    suite, key, iv = "TLS_CHACHA20_POLY1305_SHA256", os.urandom(32), os.urandom(12)
    sealer = Sealer(suite, key, iv, backend="native")
    outputs = []

    def work():
        for _ in range(25):
            outputs.append(sealer.seal(os.urandom(40000), max_fragment=10000, threads=2))

    workers = [threading.Thread(target=work) for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert sealer.seq == 4 * 25 * 4
    # every batch opens at exactly one starting number, and no two batches share one
    starts = set()
    for wire in outputs:
        for start in range(0, sealer.seq, 4):
            try:
                Opener(suite, key, iv, seq=start, backend="native").open(wire[:10000 + 22])
            except RecordError:
                continue
            starts.add(start)
            break
    assert len(starts) == len(outputs)
