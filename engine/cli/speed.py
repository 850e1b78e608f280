"""``engine speed``: how fast record protection runs here, against its alternatives, as
``openssl speed`` tells how fast libcrypto runs.

Prints one row per workload, suite and direction as it is measured (a progress bar on stderr
says which), then a legend of the columns: the native record layer's throughput and the medians
of per-round ratios against the one-call limit, Python's ``ssl``, the pure-Python fallback, and
two threads against one. ``--goals`` adds the goals the figures are held to, ``--json`` prints
every figure as JSON instead, and ``--plot FILE.png`` draws the table (the ``plot`` extra).

The measuring code (engine/cli/_speed_*.py) is reached only from this command and from
bench/bench_records.py, never from the library.
"""

from __future__ import annotations

import json
import os
import sys

from ._common import UsageError


def register(commands) -> None:
    parser = commands.add_parser(
        "speed", help="measure bulk record protection against ssl and the Python fallback",
        description="Measure bulk record protection (seal and open, 64 B messages to 16 KiB "
                    "records) against the one-call limit, Python's ssl and the Python "
                    "fallback, and print a table with a legend of its columns.",
    )
    parser.add_argument("--seconds", type=float, default=1.0, metavar="S",
                        help="time spent on each row (64 MiB rows get twice that; default 1)")
    parser.add_argument("--suite", action="append", metavar="NAME",
                        help="only this cipher suite (IANA name; repeatable)")
    parser.add_argument("--skip-large", action="store_true", help="leave out the 64 MiB rows")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                        help="compare one-thread contenders by elapsed time (default) or by "
                        "process CPU time, steadier on a busy machine; two threads are always "
                        "compared by elapsed time")
    parser.add_argument("--goals", action="store_true",
                        help="also check the figures against the record layer's goals (and "
                             "measure the peak memory of sealing 64 MiB)")
    parser.add_argument("--no-memory", action="store_true",
                        help="with --goals, leave out the peak-memory measurement")
    parser.add_argument("--json", action="store_true",
                        help="print every figure as JSON instead of the table")
    parser.add_argument("--plot", metavar="FILE.png",
                        help="also draw the table as a chart in FILE (.png, .svg or .pdf; "
                             "needs matplotlib: pip install 'engine[plot]')")
    parser.set_defaults(handler=run)


def _check(args) -> list[str]:
    from ..records import SUITES

    suites = args.suite or list(SUITES)
    for suite in suites:
        if suite not in SUITES:
            raise UsageError("unknown suite %r; expected one of %s" % (suite, ", ".join(SUITES)))
    if not args.seconds > 0:
        raise UsageError("--seconds must be positive")
    if args.plot:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise UsageError("--plot needs matplotlib: pip install 'engine[plot]'") from None
        if not args.plot.lower().endswith((".png", ".svg", ".pdf")):
            raise UsageError("--plot takes a .png, .svg or .pdf file, not %s" % args.plot)
        folder = os.path.dirname(os.path.abspath(args.plot))
        if not os.path.isdir(folder):
            raise UsageError("--plot: no such directory %s" % folder)
    return suites


def run(args) -> int:
    from .. import __version__, backend_info
    from .._progress import progress_bar, write_line
    from ._speed_measure import cases, goals, measure_case, native_available, peak_memory_ratio
    from ._speed_report import LEGEND, as_json, format_goals, format_header, format_row, plot

    suites = _check(args)
    native = native_available()
    backend = "native" if native else "python"
    if not native:
        print("engine speed: the native extension is not built; measuring the Python fallback",
              file=sys.stderr)
    todo = cases(suites, args.seconds, large=not args.skip_large)
    if not args.json:
        libcrypto = backend_info().libcrypto_runtime if native else None
        print("engine %s, %s backend%s, clock: %s" % (
            __version__, backend, " (%s)" % libcrypto if libcrypto else "", args.clock))
        print(format_header(), flush=True)
    rows = []
    with progress_bar(len(todo), unit="row", desc="engine speed") as bar:
        for case in todo:
            bar.set_description(case.label)
            row = measure_case(case, args.clock)
            rows.append(row)
            if not args.json:
                write_line(format_row(row))
            bar.update()
    results = peak = None
    if args.goals and native:
        peak = None if args.no_memory else peak_memory_ratio()
        results = goals(rows, peak)
    if args.plot:
        plot(rows, args.plot, title="engine speed (%s backend, clock: %s)"
             % (backend, args.clock))
    if args.json:
        print(json.dumps(as_json(rows, clock=args.clock, seconds=args.seconds, backend=backend,
                                 goals=results if args.goals else None, peak_memory=peak),
                         indent=1))
        return 0
    print()
    print(LEGEND)
    if args.goals:
        print()
        print(format_goals(results) if results is not None else
              "goals: not checked, the native extension is not built")
    if args.plot:
        print("chart: %s" % args.plot)
    return 0
