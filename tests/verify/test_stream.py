"""iter_verify: the verdicts of verify_chains, in order, for a stream of any length, in
bounded memory; files of JSON Lines and PEM; lines that cannot be read."""

from __future__ import annotations

import base64
import gc
import io
import json
import tracemalloc

import pytest

from engine.verify import iter_verify, verify_chains
from engine.verify import stream as stream_module
from engine.verify.sources import line_ranges, read_jsonl
from tests._support.backends import VERIFY_BACKENDS
from tests.verify.stream_corpus import biggest, groups, jsonl_lines, valid_chain
from tests.verify.verify_factory import NOW


def _call(group, backend, **kw):
    return dict(crls=group["crls"], at=NOW, purpose=group["purpose"],
                max_depth=group["max_depth"], backend=backend, **kw)


@pytest.mark.parametrize("backend", VERIFY_BACKENDS)
def test_the_stream_gives_the_verdicts_of_one_call_on_every_fault_kind(backend):
    for group in groups():
        expected = verify_chains(group["chains"], group["trust"], names=group["names"],
                                 **_call(group, backend))
        streamed = list(iter_verify(iter(group["chains"]), group["trust"],
                                    names=iter(group["names"]), batch_size=3,
                                    **_call(group, backend)))
        assert streamed == expected, group["ids"]


class _Counted:
    """An endless-looking source of chains that counts how many were taken."""

    def __init__(self, chain, total):
        self.chain, self.total, self.taken = chain, total, 0

    def __iter__(self):
        for _ in range(self.total):
            self.taken += 1
            yield [bytes(bytearray(d)) for d in self.chain]  # new objects every time


def test_the_stream_reads_at_most_a_few_batches_ahead_of_what_it_yields():
    chain, trust = valid_chain()
    source = _Counted(chain, 3000)
    batch = 50
    most_ahead = 0
    for given, verdict in enumerate(iter_verify(source, trust, at=NOW,
                                                batch_size=batch), 1):
        assert verdict.ok, verdict.detail
        most_ahead = max(most_ahead, source.taken - given)
    assert given == 3000
    assert most_ahead <= (stream_module.IN_FLIGHT + 1) * batch


def _peak_bytes(total: int) -> int:
    chain, trust = valid_chain()
    gc.collect()
    tracemalloc.start()
    try:
        for verdict in iter_verify(_Counted(chain, total), trust, at=NOW,
                                   batch_size=100):
            assert verdict.ok
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_does_not_grow_with_the_length_of_the_stream():
    _peak_bytes(300)  # caches warmed
    short, long = _peak_bytes(1000), _peak_bytes(4000)
    assert long < 1.5 * short, (short, long)


@pytest.mark.parametrize("backend", VERIFY_BACKENDS)
def test_a_jsonl_file_gives_a_verdict_per_line_with_bad_lines_named(tmp_path, backend):
    group = biggest()
    lines = jsonl_lines(group["chains"], group["names"], bad_lines=[
        (0, "not json"), (2, json.dumps({"chain": ["%%%"]})), (4, json.dumps({"name": 3})),
        (6, json.dumps([base64.b64encode(b"\x30\x03\x02\x01\x01").decode()])), (8, "")])
    path = tmp_path / "chains.jsonl"
    path.write_text("\n".join(lines) + "\n")
    verdicts = list(iter_verify(str(path), group["trust"], **_call(group, backend)))
    assert len(verdicts) == len(lines) - 1  # the blank line is skipped
    assert [v.reason for v in verdicts[:1]] == ["malformed"]
    assert "line 1 of" in verdicts[0].detail and "not JSON" in verdicts[0].detail
    assert "line 3 of" in verdicts[2].detail and "base64" in verdicts[2].detail
    assert "line 5 of" in verdicts[4].detail
    assert verdicts[6].reason == "malformed" and verdicts[6].depth == 0
    readable = [v for v, line in zip(verdicts, [x for x in lines if x])
                if line not in ("not json",) and "%%%" not in line and '"name": 3' not in line]
    assert readable
    with open(path, "rb") as handle:  # a file object is a source too
        assert list(iter_verify(handle, group["trust"], **_call(group, backend))) == verdicts


def test_names_come_from_the_records_of_a_file(tmp_path):
    chain, trust = valid_chain()
    path = tmp_path / "named.jsonl"
    path.write_text("\n".join(jsonl_lines([chain], ["wrong.example.org"])) + "\n")
    (verdict,) = iter_verify(str(path), trust, at=NOW)
    assert verdict.reason == "name_mismatch"
    with pytest.raises(ValueError):
        iter_verify(str(path), trust, names=["x.example"])


def test_a_directory_of_pem_files_is_a_source(tmp_path):
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    group = biggest()
    for i, chain in enumerate(group["chains"][:3]):
        pem = b"".join(x509.load_der_x509_certificate(d).public_bytes(Encoding.PEM)
                       for d in chain)
        (tmp_path / ("c%d.pem" % i)).write_bytes(pem)
    (tmp_path / "junk.pem").write_bytes(b"no certificate here")
    verdicts = list(iter_verify(tmp_path, group["trust"], at=NOW))
    expected = verify_chains(group["chains"][:3], group["trust"], at=NOW)
    assert verdicts[:3] == expected
    assert verdicts[3].reason == "malformed"


def test_bad_arguments_are_refused_before_any_chain_is_read():
    group = biggest()
    source = _Counted(group["chains"][0], 10)
    with pytest.raises(ValueError):
        iter_verify(source, group["trust"], purpose="both")
    with pytest.raises(ValueError):
        iter_verify(source, group["trust"], batch_size=0)
    assert source.taken == 0


@pytest.mark.parametrize("block", [1, 7, 100, 10_000])
def test_line_ranges_cover_the_file_on_line_boundaries(tmp_path, block):
    path = tmp_path / "lines.jsonl"
    lines = ["[%s]" % ",".join(['"AA=="'] * (i % 5 + 1)) for i in range(57)]
    lines.insert(10, "")
    path.write_text("\n".join(lines))  # no newline at the end
    ranges = line_ranges(path, block)
    data = path.read_bytes()
    assert ranges[0][0] == 0 and ranges[-1][1] == len(data)
    records = []
    for (start, end, first), following in zip(ranges, ranges[1:] + [None]):
        assert start == 0 or data[start - 1:start] == b"\n"
        assert first == data[:start].count(b"\n") + 1
        if following is not None:
            assert following[0] == end
        records += [r.line for r in read_jsonl(path, start=start, end=end, first_line=first)]
    assert records == [n for n, text in enumerate(lines, 1) if text]


def test_a_text_stream_of_jsonl_is_read_too():
    group = biggest()
    text = io.StringIO("\n".join(jsonl_lines(group["chains"][:2], group["names"][:2])))
    verdicts = list(iter_verify(text, group["trust"], at=NOW))
    assert verdicts == verify_chains(group["chains"][:2], group["trust"], at=NOW,
                                     names=group["names"][:2])
