"""The speed measurement behind ``engine speed`` and bench/bench_records.py, and what the command
prints: the table and its legend, JSON, the goals on request, a chart, a progress bar (no
timing asserted)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from engine.cli import main
from engine.cli._speed_contenders import SSL_SUITE, WORKLOADS, SSLPair, Workload, contenders
from engine.cli._speed_measure import Row, goals, measure, native_available
from engine.cli._speed_report import COLUMNS, LEGEND, format_goals, format_table

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


SHORT_RUN = ["speed", "--seconds", "0.01", "--suite", "TLS_AES_256_GCM_SHA384", "--skip-large"]


def data_rows(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith(tuple(w.label for w in WORKLOADS))]


def test_engine_speed_prints_a_row_per_case_then_the_legend_of_every_column(capsys):
    assert main(SHORT_RUN) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    header = lines[1].split()
    assert header[:4] == ["workload", "suite", "op", "MB/s"]
    assert lines[1].endswith("2 threads")
    rows = data_rows(out)
    assert len(rows) == 6 and all("AES-256-GCM" in line for line in rows)
    for name, _ in COLUMNS[3:]:  # every figure's column is explained
        assert any(line.startswith(name + " ") for line in LEGEND.splitlines()), name
    assert LEGEND in out
    assert "16 KiB records >= 0.9 of the limit" not in out  # goals only when asked
    ssl_cells = [row.split()[-3] for row in rows]
    assert all(cell.endswith("x") for cell in ssl_cells)  # Python's ssl ran on every row


def test_engine_speed_goals_come_with_goals_only(capsys):
    assert main(SHORT_RUN + ["--goals", "--no-memory"]) == 0
    out = capsys.readouterr().out
    if native_available():
        assert "16 KiB records >= 0.9 of the limit" in out
        assert "peak memory" not in out
    else:
        assert "goals: not checked" in out


def test_engine_speed_json_holds_every_figure_and_nothing_else(capsys):
    assert main(SHORT_RUN + ["--json"]) == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert report["clock"] == "wall" and report["seconds"] == 0.01
    assert len(report["rows"]) == 6 and "goals" not in report
    row = report["rows"][0]
    assert row["workload"] == "64 B messages, 1 MiB" and row["op"] == "seal"
    assert row["suite"] == SSL_SUITE and row["rounds"] >= 3 and row["MB_per_s"] > 0
    assert row["ssl"] > 0 and set(row["median_seconds"]) >= {row["baseline"], "ssl", "python"}
    if report["backend"] == "native":
        assert row["limit"] > 0 and row["fallback"] > 0 and row["two_threads"] > 0


def test_engine_speed_plot_draws_the_table(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    chart = tmp_path / "speed.png"
    assert main(SHORT_RUN + ["--plot", str(chart)]) == 0
    assert "chart: %s" % chart in capsys.readouterr().out
    from matplotlib.image import imread

    image = imread(chart)
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert image.shape[0] > 300 and image.shape[1] > 600  # six rows of bars, labelled


@pytest.mark.parametrize("argv, message", [
    (["--plot", "speed.gif"], "--plot takes a .png, .svg or .pdf file, not speed.gif"),
    (["--plot", "/no/such/folder/speed.png"], "--plot: no such directory /no/such/folder"),
    (["--seconds", "0"], "--seconds must be positive"),
])
def test_engine_speed_usage_errors_are_one_line(capsys, argv, message):
    assert main(SHORT_RUN + argv) == 2
    err = capsys.readouterr().err
    assert err == "engine: error: %s\n" % message


def test_engine_speed_plot_without_matplotlib_says_how_to_get_it(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if it were not installed
    assert main(SHORT_RUN + ["--plot", "speed.png"]) == 2
    assert capsys.readouterr().err == ("engine: error: --plot needs matplotlib: "
                                       "pip install 'engine[plot]'\n")


def test_engine_speed_draws_a_progress_bar_on_a_terminal(capsys, monkeypatch):
    from engine import _progress

    monkeypatch.setattr(_progress, "on_terminal", lambda stream: True)
    assert main(SHORT_RUN) == 0
    captured = capsys.readouterr()
    assert "AES-256-GCM open, 16 KiB records, 1 MiB" in captured.err  # the row being measured
    assert "| 5/6 [" in captured.err  # tqdm's bar, counting the rows
    assert len(data_rows(captured.out)) == 6  # the rows themselves stay on stdout


def test_the_benchmark_code_is_not_on_the_library_import_path():
    code = ("import sys, engine, engine.records, engine.tls, engine.pki, engine.verify, "
            "engine.blocking, engine.aio;"
            "from engine.records import Sealer; Sealer('TLS_AES_128_GCM_SHA256', bytes(16), "
            "bytes(12)).seal(b'x');"
            "print(sorted(m for m in sys.modules if 'speed' in m or 'contender' in m))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "[]", result.stderr
    if native_available():
        from engine.records._native import NativeKey

        assert not hasattr(NativeKey, "oneshot_into")


def test_only_the_speed_command_reaches_the_one_call_aead():
    from pathlib import Path

    import engine

    root = Path(engine.__file__).parent
    callers = sorted(str(path.relative_to(root)) for path in root.rglob("*.py")
                     if "engine_aead_oneshot" in path.read_text())
    assert callers == ["cli/_speed_limit.py"]


def test_bench_records_script_mode_runs_engine_speed_with_its_goals():
    from pathlib import Path

    script = Path(__file__).resolve().parents[2] / "bench" / "bench_records.py"
    result = subprocess.run([sys.executable, str(script), "--seconds", "0.01", "--suite",
                             "TLS_AES_128_GCM_SHA256", "--skip-large", "--no-memory", "--json"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert len(report["rows"]) == 6 and ("goals" in report) == True  # noqa: E712
