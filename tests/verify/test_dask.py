"""engine.verify.dask on a LocalCluster of two worker processes: the verdicts of the local
call on every fault kind, in order; state built once per worker; files in, rows and JSON
Lines out; a scheduler that cannot be reached."""

from __future__ import annotations

import json
import re

import pytest

pytest.importorskip("dask.bag", reason="Dask is not installed (pip install 'engine[dask]')")
pytest.importorskip("distributed", reason="dask.distributed is not installed "
                                          "(pip install 'engine[dask]')")

from engine.cli import main  # noqa: E402
from engine.verify import iter_verify, verify_chains  # noqa: E402
from engine.verify import dask as verify_dask  # noqa: E402
from tests._support.backends import VERIFY_BACKENDS  # noqa: E402
from tests.verify.stream_corpus import biggest, groups, jsonl_lines, valid_chain  # noqa: E402
from tests.verify.verify_factory import NOW  # noqa: E402


@pytest.fixture(scope="module")
def client():
    made = verify_dask.connect(workers=2)
    yield made
    verify_dask.close(made)


def _args(group, backend):
    return dict(crls=group["crls"], at=NOW, purpose=group["purpose"],
                max_depth=group["max_depth"], backend=backend)


@pytest.mark.parametrize("backend", VERIFY_BACKENDS)
def test_a_list_gives_the_local_verdicts_in_order_on_every_fault_kind(client, backend):
    reasons = set()
    for group in groups():
        local = verify_chains(group["chains"], group["trust"], names=group["names"],
                              **_args(group, backend))
        spread = verify_dask.verify_chains(group["chains"], group["trust"],
                                           names=group["names"], client=client,
                                           partitions=3, **_args(group, backend))
        assert spread == local, group["ids"]
        reasons |= {v.reason for v in local}
    assert len(reasons) >= 10, reasons  # the corpus holds every kind of fault


def test_each_worker_builds_its_trust_store_and_crl_tables_once(client):
    group = max((g for g in groups() if g["crls"]), key=lambda g: len(g["chains"]))
    chains = group["chains"] * 20
    verify_dask.verify_chains(chains, group["trust"], client=client, partitions=16,
                              **_args(group, None))
    token = verify_dask.make_setup(group["trust"], **{
        k: v for k, v in _args(group, None).items()}).token
    counts = [built.get(token, 0) for built in client.run(verify_dask.builds).values()]
    assert counts and all(count <= 1 for count in counts) and sum(counts) >= 1


def test_a_bag_of_chains_gives_a_bag_of_verdicts(client):
    import dask.bag

    group = biggest()
    bag = dask.bag.from_sequence(group["chains"], npartitions=4)
    names = dask.bag.from_sequence(group["names"], npartitions=4)
    result = verify_dask.verify_chains(bag, group["trust"], names=names, **_args(group, None))
    assert isinstance(result, dask.bag.Bag)
    assert client.compute(result).result() == verify_chains(
        group["chains"], group["trust"], names=group["names"], **_args(group, None))


def _jsonl(tmp_path, group):
    lines = jsonl_lines(group["chains"], group["names"], bad_lines=[
        (1, "{broken"), (3, json.dumps({"chain": "not a list"}))])
    path = tmp_path / "chains.jsonl"
    path.write_text("\n".join(lines * 3) + "\n")
    return path


def test_a_jsonl_file_gives_rows_with_line_numbers_as_the_local_stream(client, tmp_path):
    group = biggest()
    path = _jsonl(tmp_path, group)
    rows = verify_dask.verify_chains(path, group["trust"], **_args(group, None))
    local = list(iter_verify(str(path), group["trust"], **_args(group, None)))
    spread = list(verify_dask.iter_rows(client, rows))
    assert [(r["ok"], r["reason"], r["detail"], r["depth"]) for r in spread] == \
        [(v.ok, v.reason, v.detail, v.depth) for v in local]
    assert [r["line"] for r in spread] == list(range(1, len(spread) + 1))
    assert "line 2 of" in spread[1]["detail"] and spread[1]["reason"] == "malformed"


def test_a_jsonl_file_cut_in_many_partitions_is_written_in_order(client, tmp_path, monkeypatch):
    group = biggest()
    path = _jsonl(tmp_path, group)
    monkeypatch.setattr(verify_dask, "JSONL_BLOCK", 2000)
    pieces = verify_dask.file_pieces(path, block_size=2000)
    assert len(pieces) > 3
    output = tmp_path / "verdicts.jsonl"
    counts = verify_dask.verify_chains([path], group["trust"], output=output, client=client,
                                       **_args(group, None))
    written = [json.loads(line) for line in output.read_text().splitlines()]
    assert [r["line"] for r in written] == list(range(1, len(written) + 1))
    assert sum(counts.values()) == len(written)
    assert counts["malformed"] >= 6


def test_partitions_are_counted_by_a_tqdm_bar_when_asked(client, tmp_path, capsys):
    group = biggest()
    path = _jsonl(tmp_path, group)
    verify_dask.verify_chains([path], group["trust"], output=tmp_path / "out.jsonl",
                              client=client, progress=True, **_args(group, None))
    err = capsys.readouterr().err
    assert re.search(r"\| 0/\d+ \[", err) and "partitions/s" in err and err.endswith("\r")


def test_the_command_line_gives_the_same_rows_on_a_local_cluster(tmp_path, capsys):
    chain, trust = valid_chain()
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    (tmp_path / "ca.pem").write_bytes(b"".join(
        x509.load_der_x509_certificate(d).public_bytes(Encoding.PEM) for d in trust))
    source = tmp_path / "chains.jsonl"
    source.write_text("\n".join(jsonl_lines([chain] * 5, [None] * 5, [(2, "junk")])) + "\n")
    outputs = []
    for extra in ([], ["--dask"]):
        target = tmp_path / ("out%d.jsonl" % len(extra))
        status = main(["verify", "--trust", str(tmp_path / "ca.pem"), str(source),
                       "--output", str(target), *extra])
        assert status == 1  # the junk line
        outputs.append(target.read_text())
    assert outputs[0] == outputs[1]
    assert capsys.readouterr().out.strip().splitlines()[-1] == "6 chains: malformed 1, ok 5"


def test_an_unreachable_scheduler_is_one_clear_error(tmp_path, capsys, monkeypatch):
    with pytest.raises(verify_dask.SchedulerError, match="cannot reach the Dask scheduler"):
        verify_dask.connect("tcp://127.0.0.1:9", timeout=0.5)
    monkeypatch.setattr(verify_dask, "CONNECT_TIMEOUT_S", 0.5)
    chain, trust = valid_chain()
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    (tmp_path / "ca.pem").write_bytes(x509.load_der_x509_certificate(trust[0]).public_bytes(
        Encoding.PEM))
    (tmp_path / "c.jsonl").write_text("\n".join(jsonl_lines([chain], [None])))
    status = main(["verify", "--trust", str(tmp_path / "ca.pem"), str(tmp_path / "c.jsonl"),
                   "--dask", "tcp://127.0.0.1:9"])
    err = capsys.readouterr().err
    assert status == 2
    assert len(err.strip().splitlines()) == 1 and "tcp://127.0.0.1:9" in err


def test_rows_make_a_dataframe_where_pandas_is_installed(client, tmp_path):
    pytest.importorskip("dask.dataframe", reason="dask.dataframe needs pandas")
    group = biggest()
    path = _jsonl(tmp_path, group)
    rows = verify_dask.verify_chains(path, group["trust"], **_args(group, None))
    frame = verify_dask.to_dataframe(rows)
    counted = client.compute(frame.groupby("reason", dropna=False).size()).result()
    assert int(counted.sum()) == len(list(verify_dask.iter_rows(client, rows)))
