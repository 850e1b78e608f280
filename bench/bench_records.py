"""Bulk record protection: the native record layer against its alternatives, in one run.

For each workload (64 B messages, 1 KiB and 16 KiB records in 1 MiB, 16 KiB records in 64 MiB),
each suite and each direction, the contenders are timed in interleaved rounds: the native record
layer with one thread and with two (for 64 B messages also seal_messages_into with a reused
buffer, next to seal_messages), the pure-Python fallback, Python's ssl (two SSLObjects over
MemoryBIOs; TLS_AES_256_GCM_SHA384 rows only, the suite it negotiates), one AEAD call over the
whole buffer through the extension's libcrypto (the limit) and cryptography's one-shot
encrypt_into/decrypt_into. Each row reports medians of per-round ratios; the same table is what
``engine speed`` prints. Then the peak memory of sealing 64 MiB with seal().

    pytest bench/bench_records.py --benchmark-enable [-s]   # table at the end, extra_info in JSON
    python bench/bench_records.py [--seconds S] [--suite NAME] [--skip-large] [--clock cpu]

``--clock cpu`` compares the one-thread contenders by process CPU time, which leaves out the
time other processes held the processor on a busy machine; extra_info records both.
"""

from __future__ import annotations

import dataclasses
import sys

import pytest

from engine.records import SUITES
from engine.records._contenders import SSL_SUITE, WORKLOADS, contenders
from engine._backend import native_records
from engine.records._speed import (
    DIRECTIONS,
    format_goals,
    format_table,
    goals,
    measure,
    peak_memory_ratio,
)


needs_native = pytest.mark.skipif(
    not native_records(), reason="the native extension is not built (python setup.py build_ext --inplace)"
)

_ROWS: list = []
_PEAK: list = []


@pytest.fixture(scope="module", autouse=True)
def table(request):
    """Print the ratio table and the goals once every row has been measured."""
    yield
    if not _ROWS:
        return
    reporter = request.config.pluginmanager.getplugin("terminalreporter")
    write = reporter.write_line if reporter is not None else print
    write("")
    for line in format_table(_ROWS).splitlines():
        write(line)
    if native_records():
        write("")
        for line in format_goals(goals(_ROWS, _PEAK[0] if _PEAK else None)).splitlines():
            write(line)


CASES = [(w, s, d) for w in WORKLOADS for s in SUITES for d in DIRECTIONS]


@pytest.mark.parametrize(
    "workload,suite,direction", CASES,
    ids=["%s-%s-%s" % (w.label.replace(" ", "").replace(",", "_"), s[4:], d)
         for w, s, d in CASES],
)
@pytest.mark.benchmark(group="records-ratios")
def test_interleaved_ratios(benchmark, workload, suite, direction):
    """One row of the table: medians of per-round ratios, kept in extra_info (no threshold)."""
    result = {}
    seconds = 2.0 if workload.large else 1.0
    benchmark.pedantic(lambda: result.setdefault("row", measure(suite, direction, workload,
                                                                seconds=seconds,
                                                                max_rounds=6 if workload.large
                                                                else 200)),
                       rounds=1, iterations=1)
    row = result["row"]
    _ROWS.append(row)
    benchmark.extra_info.update({
        "baseline": row.baseline, "rounds": row.rounds, "MB_per_s": row.throughput,
        "speedup_two_threads": row.speedup_x2,
        "speedup_two_threads_fastest_rounds": row.best_speedup_x2,
        "ssl_over_two_threads": row.ratio("ssl", "native x2"),
        "ssl_over_seal_messages_into": row.ratio("ssl", "native into"),
        "python_over_seal_messages_into": row.ratio("python", "native into"),
        **{"%s_over_%s" % (name, row.baseline): row.against(name)
           for name in row.wall if name != row.baseline},
        **{"cpu_%s_over_%s" % (name, row.baseline): dataclasses.replace(row, clock="cpu")
           .against(name) for name in row.wall if name not in (row.baseline, "native x2")},
    })
    assert row.rounds >= 3 and row.seconds > 0


@needs_native
@pytest.mark.benchmark(group="records-memory")
def test_peak_memory_sealing_64_mib(benchmark):
    """Peak RSS added by seal() of 64 MiB over the input size, in a fresh interpreter."""
    result = {}
    benchmark.pedantic(lambda: result.setdefault("ratio", peak_memory_ratio()),
                       rounds=1, iterations=1)
    _PEAK.append(result["ratio"])
    benchmark.extra_info["peak_over_input"] = result["ratio"]
    assert result["ratio"] > 1.0  # the input itself is counted


# Plain pytest-benchmark timings of every contender on one case, for its own statistics table.
_PLAIN = WORKLOADS[2]  # 16 KiB records, 1 MiB


@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize("name", ["native", "native x2", "python", "ssl", "limit",
                                  "cryptography"])
def test_contender_16k_records(benchmark, name, direction):
    benchmark.group = "records-%s-16KiB-AES-256-GCM" % direction
    runs = contenders(SSL_SUITE, direction, _PLAIN, native=native_records())
    if name not in runs:
        pytest.skip("%s does not apply here" % name)
    fn = runs[name]
    prepare = getattr(fn, "prepare", None)
    if prepare is not None:
        benchmark.pedantic(fn, setup=prepare, rounds=20, iterations=1)
    else:
        benchmark(fn)


def main(argv=None) -> int:
    from engine.cli import main as cli_main

    return cli_main(["speed", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
