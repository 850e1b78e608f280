"""The speed measurement behind ``engine speed`` and bench/bench_records.py (no timing asserted)."""

from __future__ import annotations

import pytest

from engine.cli import main
from engine.records._contenders import SSL_SUITE, WORKLOADS, SSLPair, Workload, contenders
from engine.records._speed import Row, format_goals, format_table, goals, measure

TINY = Workload("1 KiB records, 64 KiB", 1024, 65536)


def test_the_ssl_contender_speaks_tls_1_3_with_aes_256_gcm():
    pair = SSLPair()
    assert pair.cipher == SSL_SUITE
    wire = pair.write_chunks([b"x" * 1000, b"y" * 24])
    assert pair.read_all(wire) == 1024


@pytest.mark.parametrize("direction", ["seal", "open"])
def test_every_contender_runs(direction):
    runs = contenders(SSL_SUITE, direction, TINY, native=False)
    assert {"python", "ssl", "cryptography"} <= set(runs)
    for fn in runs.values():
        if hasattr(fn, "prepare"):
            fn.prepare()
        fn()
        fn()  # a second time: openers are rewound, sealers go on


def test_a_measured_row_has_a_time_per_round_for_each_contender():
    row = measure(SSL_SUITE, "open", TINY, seconds=0, min_rounds=2, clock="cpu")
    assert row.rounds == 2 and all(len(t) == 2 for t in row.wall.values())
    assert set(row.cpu) == set(row.wall)
    assert row.throughput > 0 and row.against("ssl") > 0
    assert SSL_SUITE[4:11] in format_table([row]) or "AES-256-GCM" in format_table([row])


def test_goals_report_each_target_with_its_weakest_figure():
    first = {"native": [1.0, 1.0, 1.0], "limit": [0.95, 0.9, 0.8], "native x2": [0.5] * 3}
    second = {"native": [1.0] * 3, "ssl": [3.0] * 3, "python": [6.0] * 3, "native x2": [0.5] * 3,
              "native into": [0.75] * 3}
    rows = [
        Row("TLS_AES_128_GCM_SHA256", "seal", Workload("16 KiB", 16384, 2**20), "native",
            first, first),
        Row(SSL_SUITE, "open", Workload("64 B", 64, 2**20, messages=True), "native",
            second, second),
    ]
    results = {text: (ok, detail) for text, ok, detail in goals(rows, peak_ratio=2.0)}
    assert results["16 KiB records >= 0.9 of the limit"] == (True, "lowest 0.90 (AES-128-GCM "
                                                              "seal 16 KiB)")
    assert results["64 B messages >= 5x ssl"][0] is False
    assert results["64 B messages >= 5x ssl, two threads"][0] is True
    assert results["64 B messages >= 5x ssl, seal_messages_into"] == (False, "lowest 4.00 "
                                                                       "(AES-256-GCM open 64 B)")
    assert results["64 B messages >= 5x Python, seal_messages_into"][0] is True
    assert results["2 threads >= 1.7x one on 1 MiB and larger"][0] is True
    assert results["  the same, fastest rounds (second core free)"][0] is True
    assert results["16 KiB records >= 2x ssl"] == (None, "not measured")
    assert "NOT met" in format_goals(goals(rows))


def test_engine_speed_refuses_an_unknown_suite(capsys):
    assert main(["speed", "--suite", "TLS_AES_128_CCM_SHA256"]) == 2
    assert "unknown suite" in capsys.readouterr().err


def test_engine_speed_prints_a_row_per_case_and_the_goals(capsys):
    from engine._backend import native_records

    native = native_records()
    status = main(["speed", "--seconds", "0.01", "--suite", "TLS_AES_256_GCM_SHA384",
                   "--skip-large", "--no-memory"])
    out = capsys.readouterr().out
    assert status == 0
    rows = [line for line in out.splitlines() if line.startswith(tuple(w.label for w in WORKLOADS))]
    assert len(rows) == 6 and all("AES-256-GCM" in line for line in rows)
    assert ("16 KiB records >= 0.9 of the limit" in out) == native
