"""What ``engine speed`` shows: the table with its legend (as ``openssl speed`` prints one), the
same figures as JSON, the goals, and the table drawn as a chart (matplotlib, the ``plot``
extra)."""

from __future__ import annotations

import math
from typing import Any

from ._speed_measure import SHORT, Row

# (name, width) of each column, in order; LEGEND says what each holds.
COLUMNS = (("workload", 24), ("suite", 17), ("op", 4), ("MB/s", 7), ("limit", 6),
           ("ssl", 6), ("fallback", 8), ("2 threads", 9))

LEGEND = """\
MB/s       bytes of data protected per second by the native record layer on one thread
           (by the Python fallback when the extension is not built)
limit      that speed as a share of the one-call limit: one AEAD call over the whole
           buffer, without records, through the same libcrypto (1.00 = as fast)
ssl        times as fast as Python's ssl (two SSLObjects over memory; AES-256-GCM rows,
           the suite they agree on)
fallback   times as fast as the pure-Python fallback (ENGINE_BACKEND=python)
2 threads  times as fast with threads=2 as with one thread
Each figure is the median of per-round ratios: the contenders take turns in every round,
so a busy machine slows them alike."""


def _ratio(value, digits: int = 2, suffix: str = "x") -> str:
    return "-" if value is None else "%.*f%s" % (digits, value, suffix)


def cells(row: Row) -> dict:
    """The table's figures for one row, by column name (None where it does not apply)."""
    native = row.baseline == "native"
    return {
        "workload": row.workload.label,
        "suite": SHORT[row.suite],
        "op": row.direction,
        "MB/s": row.throughput,
        "limit": row.against("limit"),
        "ssl": row.against("ssl"),
        "fallback": row.against("python") if native else None,
        "2 threads": row.speedup_x2,
    }


def format_header() -> str:
    return " ".join(("%-*s" if i < 3 else "%*s") % (width, name)
                    for i, (name, width) in enumerate(COLUMNS)).rstrip()


def format_row(row: Row) -> str:
    values = cells(row)
    shown = [values["workload"], values["suite"], values["op"], "%.0f" % values["MB/s"],
             _ratio(values["limit"], suffix=""), _ratio(values["ssl"]),
             _ratio(values["fallback"], 1), _ratio(values["2 threads"])]
    return " ".join(("%-*s" if i < 3 else "%*s") % (width, text)
                    for i, ((_, width), text) in enumerate(zip(COLUMNS, shown))).rstrip()


def format_table(rows) -> str:
    return "\n".join([format_header()] + [format_row(row) for row in rows] + ["", LEGEND])


def format_goals(results) -> str:
    marks = {True: "met", False: "NOT met", None: "n/a"}
    return "\n".join("%-46s %-8s %s" % (text, marks[ok], detail) for text, ok, detail in results)


def as_json(rows, *, clock: str, seconds: float, backend: str, goals=None,
            peak_memory: float | None = None) -> dict:
    """The figures of every row (the table's, every contender's ratio and median time), and
    the goals when they were asked for."""
    out: dict[str, Any] = {"backend": backend, "clock": clock, "seconds": seconds, "rows": []}
    for row in rows:
        values = cells(row)
        out["rows"].append({
            "workload": row.workload.label,
            "record_size": row.workload.record_size,
            "total_bytes": row.workload.total,
            "messages": row.workload.messages,
            "suite": row.suite,
            "op": row.direction,
            "baseline": row.baseline,
            "rounds": row.rounds,
            "MB_per_s": row.throughput,
            "limit": values["limit"],
            "ssl": values["ssl"],
            "fallback": values["fallback"],
            "two_threads": values["2 threads"],
            "ssl_two_threads": row.ratio("ssl", "native x2"),
            # each contender's time over the baseline's (above 1: the baseline is faster)
            "time_ratios": {name: row.against(name) for name in row.wall if name != row.baseline},
            "median_seconds": {name: _median(row, name) for name in row.wall},
        })
    if goals is not None:
        out["goals"] = [{"goal": text.strip(), "met": ok, "figures": detail}
                        for text, ok, detail in goals]
        out["peak_memory_ratio"] = peak_memory
    return out


def _median(row: Row, name: str) -> float:
    series = sorted(row.wall[name] if row.clock == "wall" else row.cpu[name])
    middle = len(series) // 2
    return series[middle] if len(series) % 2 else (series[middle - 1] + series[middle]) / 2


# --- the chart ------------------------------------------------------------------------------

_SERIES = (("limit", "share of the one-call limit"), ("ssl", "x Python's ssl"),
           ("fallback", "x the Python fallback"), ("2 threads", "x one thread"))


def plot(rows, path: str, title: str = "engine speed") -> None:
    """Draw the table as grouped bars, one group per row, on a log scale around 1, to ``path``
    (its suffix picks the format: .png, .svg, .pdf)."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, 1.6 + 0.55 * len(rows)), layout="constrained")
    axes = figure.subplots()
    height = 0.8 / len(_SERIES)
    for index, (column, label) in enumerate(_SERIES):
        values = [cells(row)[column] for row in rows]
        values = [math.nan if value is None else value for value in values]
        positions = [i + (index - (len(_SERIES) - 1) / 2) * height for i in range(len(rows))]
        axes.barh(positions, values, height=height, label="%s (%s)" % (column, label))
    axes.set_yticks(range(len(rows)),
                    labels=["%s %s, %s\n%.0f MB/s" % (SHORT[row.suite], row.direction,
                                                     row.workload.label, row.throughput)
                            for row in rows], fontsize=8)
    axes.invert_yaxis()
    axes.set_xscale("log")
    axes.axvline(1.0, color="black", linewidth=0.8, linestyle="--")
    axes.set_xlabel("median of per-round ratios (1 = as fast)")
    axes.set_title(title)
    figure.legend(loc="outside lower center", ncols=len(_SERIES), fontsize=8)
    axes.grid(axis="x", which="both", alpha=0.3)
    figure.savefig(path, dpi=100)
