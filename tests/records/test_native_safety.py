"""The native record layer never hands C more bytes than a buffer has.

C runs without the GIL, so another Python thread may resize a bytearray between the moment its
length is counted and the moment C is called. The wrapper pins every buffer (a buffer export,
which a bytearray refuses to be resized under) and checks the length it was given against the
pinned buffer: a buffer that shrank in between is refused with ValueError, never overrun.
"""

from __future__ import annotations

import threading

import pytest

from engine.errors import RecordAuthenticationError
from engine.records import Opener, Sealer

SUITE = "TLS_AES_128_GCM_SHA256"
KEY = bytes(range(16))
IV = bytes(range(100, 112))


@pytest.fixture
def native():
    from engine._backend import native_records

    if not native_records():
        pytest.skip("the native extension with record protection is not built")
    from engine.records._native import NativeKey
    from engine.records._suites import suite_named

    return lambda encrypt: NativeKey(suite_named(SUITE), KEY, IV, encrypt)


def test_seal_refuses_a_capacity_larger_than_the_output_buffer(native):
    out = bytearray(40)
    with pytest.raises(ValueError, match="changed size"):
        native(True).seal_into(out, 4096, b"x" * 100, 100, 23, 16384, 0, 1)
    assert out == bytearray(40)


def test_seal_refuses_a_length_larger_than_the_input_buffer(native):
    out = bytearray(4096)
    with pytest.raises(ValueError, match="changed size"):
        native(True).seal_into(out, len(out), bytearray(10), 2000, 23, 16384, 0, 1)
    with pytest.raises(ValueError, match="changed size"):
        native(True).seal_new(bytearray(10), 2000, 2022, 23, 16384, 0, 1)


def test_seal_messages_refuses_a_capacity_larger_than_the_output_buffer(native):
    from engine.records._messages import Messages

    with Messages([b"a" * 50]) as batch:
        with pytest.raises(ValueError, match="changed size"):
            native(True).seal_messages_into(bytearray(8), 4096, batch, 23, 0, 1)


def test_open_refuses_lengths_larger_than_its_buffers(native):
    wire = Sealer(SUITE, KEY, IV, backend="native").seal(b"y" * 300)
    opener = native(False)
    with pytest.raises(ValueError, match="changed size"):
        opener.open_into(bytearray(1000), 1000, wire[:10], len(wire), 1)
    with pytest.raises(ValueError, match="changed size"):
        opener.open_into(bytearray(8), 1000, wire, len(wire), 1)


def test_a_negative_length_is_refused_before_c_is_called(native):
    with pytest.raises(ValueError):
        native(True).seal_into(bytearray(64), -1, b"abc", 3, 23, 16384, 0, 1)


def test_a_bytearray_cannot_be_resized_while_a_call_has_it_pinned(native):
    from engine.records._native import _pinned

    import cffi

    ffi = cffi.FFI()
    buffer = bytearray(32)
    ptr = _pinned(ffi, buffer, 32, writable=True)
    with pytest.raises(BufferError):
        buffer.extend(b"more")
    ffi.release(ptr)
    buffer.extend(b"more")
    assert len(buffer) == 36


class _Gate:
    """Stands in for a Direction's lock: the call announces it is waiting, then waits."""

    def __init__(self):
        self.waiting = threading.Event()
        self.open = threading.Event()
        self._lock = threading.Lock()

    def __enter__(self):
        self.waiting.set()
        assert self.open.wait(10)
        self._lock.acquire()

    def __exit__(self, *exc):
        self._lock.release()


def _run_while_gated(direction, call, resize):
    """Start ``call`` in a thread, let ``resize`` run while it waits for the lock, then let it
    go on; what it raised (or None)."""
    gate = direction._lock = _Gate()
    outcome = []

    def target():
        try:
            call()
            outcome.append(None)
        except Exception as exc:  # handed to the test
            outcome.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    assert gate.waiting.wait(10)
    resize()
    gate.open.set()
    thread.join(10)
    assert not thread.is_alive()
    return outcome[0]


def test_an_output_buffer_shrunk_by_another_thread_is_not_overrun(native):
    sealer = Sealer(SUITE, KEY, IV, backend="native")
    out = bytearray(2000)
    error = _run_while_gated(sealer, lambda: sealer.seal_into(out, b"z" * 1500),
                             lambda: out.__delitem__(slice(16, None)))
    assert isinstance(error, ValueError)
    assert len(out) == 16 and out == bytearray(16)
    assert sealer.seq == 0


def test_an_input_buffer_shrunk_by_another_thread_is_not_overread(native):
    sealer = Sealer(SUITE, KEY, IV, backend="native")
    data = bytearray(b"q" * 3000)
    error = _run_while_gated(sealer, lambda: sealer.seal(data),
                             lambda: data.__delitem__(slice(8, None)))
    assert isinstance(error, ValueError)
    assert sealer.seq == 0


def test_a_wire_buffer_shrunk_by_another_thread_is_not_overread(native):
    wire = bytearray(Sealer(SUITE, KEY, IV, backend="native").seal(b"w" * 5000, max_fragment=1000))
    opener = Opener(SUITE, KEY, IV, backend="native")
    out = bytearray(6000)
    error = _run_while_gated(opener, lambda: opener.open_into(out, wire),
                             lambda: wire.__delitem__(slice(3, None)))
    assert isinstance(error, ValueError)
    assert opener.seq == 0


@pytest.mark.parametrize("threads", [1, 4])
def test_no_plaintext_from_a_failed_record_on_is_left_in_the_output(native, threads):
    wire = bytearray(Sealer(SUITE, KEY, IV, backend="native").seal(b"secret!" * 20000,
                                                                    max_fragment=1000))
    record = 5 + 1000 + 1 + 16
    wire[60 * record - 1] ^= 1  # the tag of record 59 of 140
    out = bytearray(len(wire))
    opener = Opener(SUITE, KEY, IV, backend="native")
    with pytest.raises(RecordAuthenticationError) as caught:
        opener.open_into(out, wire, threads=threads)
    assert caught.value.index == 59
    assert bytes(out[:59000]) == (b"secret!" * 20000)[:59000]
    assert bytes(out[59000:]) == bytes(len(out) - 59000)


@pytest.mark.parametrize("pad_to", [2**14 + 1, 2**64, 2**70])
def test_padding_past_the_record_limit_pads_to_the_limit_in_both_backends(native, pad_to):
    sealed = {}
    for backend in ("python", "native"):
        sealer = Sealer(SUITE, KEY, IV, backend=backend)
        out = bytearray(2 * 16406)
        sealed[backend] = (sealer.seal(b"x" * 20000, pad_to=pad_to),
                           sealer.seal_messages([b"ab", b""], pad_to=pad_to),
                           out[:sealer.seal_into(out, b"y", pad_to=pad_to)])
    assert sealed["native"] == sealed["python"]
    assert [len(r) for r in sealed["native"]] == [2 * 16406, 2 * 16406, 16406]


SEQ_LIMIT = 2**64


@pytest.mark.parametrize("start, count, tail", [
    (SEQ_LIMIT - 64, 64, "incomplete"),  # 64: the segment slots a fresh Opener starts with
    (SEQ_LIMIT - 64, 64, "complete"),
    (SEQ_LIMIT - 64, 64, "overflowing"),
    (SEQ_LIMIT - 256, 256, "none"),
    (SEQ_LIMIT, 0, "complete"),
    (SEQ_LIMIT, 0, "overflowing"),
])
def test_the_last_sequence_number_stops_opening_as_in_the_twin(native, start, count, tail):
    messages = [b"m%02d" % (i % 100) for i in range(count)]
    wire = Sealer(SUITE, KEY, IV, seq=min(start, SEQ_LIMIT - 1), backend="python").seal_messages(
        messages) if count else b""
    wire += {"incomplete": b"\x17\x03\x03\x00\x20" + bytes(10),
             "complete": b"\x17\x03\x03\x00\x14" + bytes(20),
             "overflowing": b"\x17\x03\x03\x40\x12", "none": b""}[tail]
    outcomes = []
    for backend in ("python", "native"):
        opener = Opener(SUITE, KEY, IV, seq=start, backend=backend)
        try:
            plaintexts, consumed = opener.open(wire)
            outcomes.append(("opened", [p for _, p in plaintexts], consumed, opener.seq))
        except Exception as exc:  # compared between the twins
            outcomes.append((type(exc).__name__, exc.index, exc.consumed, opener.seq))
    assert outcomes[0] == outcomes[1]
    assert outcomes[1][3] == start + count
