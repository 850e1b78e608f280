"""Measuring record protection against its contenders for ``engine speed``: interleaved rounds,
medians of ratios, and the goals the figures are held to.

Machines are noisy, so contenders are timed in turn within each round (the order reversed every
other round) and each round gives one ratio per contender against the native record layer; the
table shows the median of those per-round ratios. bench/bench_records.py measures through this
module too.
"""

from __future__ import annotations

import dataclasses
import json
import math
import statistics
import subprocess
import sys
import time

from ..records import SUITES
from .._backend import record_backend as choose
from ._speed_contenders import SSL_SUITE, WORKLOADS, Workload, contenders

SAMPLE_SECONDS = 0.004  # each timed sample repeats an operation for at least this long
DIRECTIONS = ("seal", "open")


_THREADED = ("native x2",)


@dataclasses.dataclass(frozen=True)
class Row:
    """One case measured: each contender's time per operation in every round.

    ``wall`` holds elapsed times, ``cpu`` the process CPU time of the same samples. Ratios
    between single-threaded contenders use ``clock`` ("wall" or "cpu": CPU time leaves out the
    time other processes held the processor, which helps on a busy machine); anything compared
    with the threaded contender uses elapsed time.
    """

    suite: str
    direction: str
    workload: Workload
    baseline: str
    wall: dict  # contender name -> [seconds per operation, one per round]
    cpu: dict
    clock: str = "wall"

    def _series(self, name: str, other: str):
        use_wall = self.clock == "wall" or name in _THREADED or other in _THREADED
        return (self.wall if use_wall else self.cpu).get(name)

    @property
    def rounds(self) -> int:
        return len(self.wall[self.baseline])

    @property
    def seconds(self) -> float:
        """Median time of one baseline operation (by ``clock``)."""
        return statistics.median(self._series(self.baseline, self.baseline))

    @property
    def throughput(self) -> float:
        """Baseline payload throughput in MB/s."""
        return self.workload.total / self.seconds / 1e6

    def ratio(self, slower: str, faster: str) -> float | None:
        """Median over rounds of time(slower) / time(faster); None if either is missing."""
        a, b = self._series(slower, faster), self._series(faster, slower)
        if a is None or b is None:
            return None
        return statistics.median(x / y for x, y in zip(a, b))

    def against(self, other: str) -> float | None:
        """How many times faster the baseline is than ``other`` (median of per-round ratios)."""
        return self.ratio(other, self.baseline)

    @property
    def speedup_x2(self) -> float | None:
        return self.ratio("native", "native x2")

    @property
    def best_speedup_x2(self) -> float | None:
        """Fastest one-thread time over fastest two-thread time: what two threads can give
        when the second processor is free, which the median hides on a busy machine."""
        if "native x2" not in self.wall:
            return None
        return min(self.wall["native"]) / min(self.wall["native x2"])


def _timed(fn, repeat: int) -> tuple[float, float]:
    """(elapsed, process CPU) seconds per call of ``fn``, over ``repeat`` calls."""
    prepare = getattr(fn, "prepare", None)
    if prepare is not None:
        prepare()
    cpu = time.process_time()
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    wall = time.perf_counter() - start
    return wall / repeat, (time.process_time() - cpu) / repeat


def measure(suite: str, direction: str, workload: Workload, seconds: float = 1.0,
            min_rounds: int = 3, max_rounds: int = 200, clock: str = "wall") -> Row:
    """Time every contender of one case in interleaved rounds for about ``seconds``."""
    native = native_available()
    runs = contenders(suite, direction, workload, native=native)
    baseline = "native" if native else "python"
    repeats = {}
    for name, fn in runs.items():
        once, _ = _timed(fn, 1)  # also a warm-up
        single = getattr(fn, "prepare", None) is not None or workload.large
        repeats[name] = 1 if single else max(1, math.ceil(SAMPLE_SECONDS / max(once, 1e-9)))
    wall: dict[str, list[float]] = {name: [] for name in runs}
    cpu: dict[str, list[float]] = {name: [] for name in runs}
    names = list(runs)
    deadline = time.perf_counter() + seconds
    rounds = 0
    while rounds < min_rounds or (rounds < max_rounds and time.perf_counter() < deadline):
        for name in (names if rounds % 2 == 0 else names[::-1]):
            elapsed, used = _timed(runs[name], repeats[name])
            wall[name].append(elapsed)
            cpu[name].append(used)
        rounds += 1
    return Row(suite, direction, workload, baseline, wall, cpu, clock)


def native_available() -> bool:
    """Whether the extension with record protection is there to measure."""
    try:
        return choose("native") == "native"
    except Exception:
        return False


SHORT = {"TLS_AES_128_GCM_SHA256": "AES-128-GCM", "TLS_AES_256_GCM_SHA384": "AES-256-GCM",
         "TLS_CHACHA20_POLY1305_SHA256": "ChaCha20-Poly1305"}


@dataclasses.dataclass(frozen=True)
class Case:
    """One row to measure: a workload, a suite, a direction, and how long to spend on it."""

    workload: Workload
    suite: str
    direction: str
    seconds: float
    max_rounds: int

    @property
    def label(self) -> str:
        return "%s %s, %s" % (SHORT[self.suite], self.direction, self.workload.label)


def cases(suites=SUITES, seconds: float = 1.0, large: bool = True) -> list[Case]:
    """Every workload, suite and direction to measure, in the table's order (64 MiB rows get
    twice the time and at most 8 rounds)."""
    return [Case(workload, suite, direction, seconds * (2 if workload.large else 1),
                 8 if workload.large else 200)
            for workload in WORKLOADS if large or not workload.large
            for suite in suites for direction in DIRECTIONS]


def measure_case(case: Case, clock: str = "wall") -> Row:
    return measure(case.suite, case.direction, case.workload, seconds=case.seconds,
                   min_rounds=3, max_rounds=case.max_rounds, clock=clock)


def measure_all(suites=SUITES, seconds: float = 1.0, large: bool = True, progress=None,
                clock: str = "wall"):
    """Every case of :func:`cases`; ``progress(row)`` is called after each row."""
    rows = []
    for case in cases(suites, seconds, large):
        row = measure_case(case, clock)
        rows.append(row)
        if progress is not None:
            progress(row)
    return rows


# --- goals ------------------------------------------------------------------------------------


def goals(rows, peak_ratio: float | None = None) -> list[tuple[str, bool | None, str]]:
    """(goal, met?, the figures behind it) for the targets of the native record layer."""
    out = []

    def check(text, values, predicate):
        values = [(label, v) for label, v in values if v is not None]
        if not values:
            out.append((text, None, "not measured"))
            return
        worst = min(values, key=lambda lv: lv[1])
        ok = all(predicate(v) for _, v in values)
        out.append((text, ok, "lowest %.2f (%s)" % (worst[1], worst[0])))

    def label(row):
        return "%s %s %s" % (SHORT[row.suite], row.direction, row.workload.label)

    big = [r for r in rows if r.workload.record_size == 16384]
    check("16 KiB records >= 0.9 of the limit", [(label(r), r.against("limit")) for r in big],
          lambda v: v >= 0.9)
    check("16 KiB records >= 2x ssl", [(label(r), r.against("ssl")) for r in big],
          lambda v: v >= 2)
    small = [r for r in rows if r.workload.messages]
    check("64 B messages >= 5x ssl", [(label(r), r.against("ssl")) for r in small],
          lambda v: v >= 5)
    check("64 B messages >= 5x ssl, two threads",
          [(label(r), r.ratio("ssl", "native x2")) for r in small], lambda v: v >= 5)
    check("64 B messages >= 5x the Python fallback",
          [(label(r), r.against("python")) for r in small], lambda v: v >= 5)
    check("64 B messages >= 5x ssl, seal_messages_into",
          [(label(r), r.ratio("ssl", "native into")) for r in small], lambda v: v >= 5)
    check("64 B messages >= 5x Python, seal_messages_into",
          [(label(r), r.ratio("python", "native into")) for r in small], lambda v: v >= 5)
    threaded = [r for r in rows if r.workload.total >= 2**20 and not r.workload.messages]
    check("2 threads >= 1.7x one on 1 MiB and larger",
          [(label(r), r.speedup_x2) for r in threaded], lambda v: v >= 1.7)
    check("  the same, fastest rounds (second core free)",
          [(label(r), r.best_speedup_x2) for r in threaded], lambda v: v >= 1.7)
    if peak_ratio is not None:
        out.append(("peak memory sealing 64 MiB < 2.2x the input", peak_ratio < 2.2,
                    "%.2fx" % peak_ratio))
    return out


_PEAK_SCRIPT = r"""
import json, os, resource, sys
from engine.records import Sealer

def peak_kib():
    # VmHWM starts afresh at exec; ru_maxrss may carry the parent's peak over on Linux
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

size = int(sys.argv[1])
sealer = Sealer(sys.argv[2], bytes(int(sys.argv[3])), bytes(12), backend=sys.argv[4])
sealer.seal(b"warm" * 1000)
before = peak_kib()
data = os.urandom(size)
records = sealer.seal(data)
after = peak_kib()
print(json.dumps({"ratio": (after - before) * 1024 / size, "output": len(records)}))
"""


def peak_memory_ratio(size: int = 64 * 2**20, suite: str = "TLS_AES_128_GCM_SHA256",
                      backend: str = "native") -> float:
    """Peak resident memory added while sealing ``size`` bytes with seal(), over ``size``.

    Measured in a fresh interpreter (peak resident set after the input is made and sealed, minus
    before), so the input itself counts: 2.0 means input plus output and nothing else.
    """
    key_size = 16 if "128" in suite else 32
    result = subprocess.run(
        [sys.executable, "-c", _PEAK_SCRIPT, str(size), suite, str(key_size), backend],
        capture_output=True, text=True, check=True,
    )
    return json.loads(result.stdout)["ratio"]


__all__ = ["SSL_SUITE", "Case", "Row", "cases", "goals", "measure", "measure_all",
           "measure_case", "native_available", "peak_memory_ratio"]
