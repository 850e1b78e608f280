"""``engine speed``: how fast record protection runs here, against its alternatives.

Prints one row per workload, suite and direction: the native record layer's throughput and the
medians of per-round ratios against one AEAD call over the whole buffer (the limit), Python's
ssl, the pure-Python fallback, and two threads against one; then which targets were met.
"""

from __future__ import annotations

from ._common import UsageError


def register(commands) -> None:
    parser = commands.add_parser(
        "speed", help="measure bulk record protection against ssl and the Python fallback"
    )
    parser.add_argument("--seconds", type=float, default=1.0, metavar="S",
                        help="time spent on each row (64 MiB rows get twice that; default 1)")
    parser.add_argument("--suite", action="append", metavar="NAME",
                        help="only this cipher suite (IANA name; repeatable)")
    parser.add_argument("--skip-large", action="store_true", help="leave out the 64 MiB rows")
    parser.add_argument("--no-memory", action="store_true",
                        help="leave out the peak-memory measurement")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                        help="compare one-thread contenders by elapsed time (default) or by "
                        "process CPU time, steadier on a busy machine; two threads are always "
                        "compared by elapsed time")
    parser.set_defaults(handler=run)


def run(args) -> int:
    from ..records import SUITES
    from ..records._speed import (
        LEGEND, format_goals, format_header, format_row, goals, measure_all, peak_memory_ratio,
    )
    from .._backend import record_backend as choose

    suites = args.suite or list(SUITES)
    for suite in suites:
        if suite not in SUITES:
            raise UsageError("unknown suite %r; expected one of %s" % (suite, ", ".join(SUITES)))
    if not args.seconds > 0:
        raise UsageError("--seconds must be positive")
    try:
        native = choose("native") == "native"
    except Exception as exc:
        native = False
        print("native backend not available (%s); measuring the Python fallback only" % exc)
    print("clock: %s" % args.clock)
    print(format_header(), flush=True)
    rows = measure_all(suites, seconds=args.seconds, large=not args.skip_large,
                       progress=lambda row: print(format_row(row), flush=True), clock=args.clock)
    print(LEGEND)
    if native:
        peak = None
        if not args.no_memory:
            peak = peak_memory_ratio()
        print()
        print(format_goals(goals(rows, peak)))
    return 0
