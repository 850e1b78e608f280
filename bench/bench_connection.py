"""Application data through a connection, the path users take: the engine against Python's ssl
and rtls (rustls behind the ssl API, when installed), in one run.

- **Writes over memory**: an established client/server pair of each stack in this process; each
  write is sent by the client and read by the server (engine: ``send_data``,
  ``data_to_send``, ``receive_data``; ssl and rtls: ``SSLObject.write``, the MemoryBIOs,
  ``SSLObject.read``). Writes of 64 B, 1 KiB and 16 KiB; MB/s of each contender and the median of
  the per-round ratios, contenders interleaved and the order rotating.
- **Writes through blocking sockets** (``--sockets``): the same writes through
  ``engine.blocking.TLSSocket`` and ``ssl.SSLSocket`` (and rtls's) over a socket pair,
  ``sendall`` on one end and ``recv_into`` on the other (bench/connection_sockets.py).
- **One record, standalone**: ``Sealer.seal`` and ``Opener.open`` of a single 64 B and 16 KiB
  record, native and Python, in microseconds.
- **asyncio echo** (``--asyncio``): sessions over loopback (connect, handshake, small messages
  echoed, close), many at once, engine.aio against asyncio's streams with ssl: sessions/s and
  the 99th percentile of the message round trip.
- **Memory** (``--memory``): the resident memory of N established pairs held in one process,
  divided by N, each contender in a fresh interpreter.

    pytest bench/bench_connection.py --benchmark-enable -s
    python bench/bench_connection.py [--rounds N] [--sockets] [--asyncio] [--memory]
                                     [--profile]
"""

from __future__ import annotations

import argparse
import os
import ssl
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from tls_setting import Setting, engine_handshake, memory_handshake, rtls  # noqa: E402

from engine.records import Opener, Sealer  # noqa: E402
from engine._backend import native_records  # noqa: E402

SIZES = (64, 1024, 16384)


# --- writes over memory --------------------------------------------------------------------


def engine_writes(setting: Setting, size: int):
    """A function doing ``count`` writes of ``size`` bytes client to server; bytes received."""
    client, server = engine_handshake(setting)
    message = os.urandom(size)
    send, take, receive = client.send_data, client.data_to_send, server.receive_data

    def run(count: int) -> int:
        received = 0
        for _ in range(count):
            send(message)
            for event in receive(take()):
                received += len(event.data)
        return received

    return run


def sslobject_writes(setting: Setting, size: int, module):
    client, server, (_, client_out, server_in, _) = memory_handshake(
        module, *setting.contexts(module.__name__))
    message = os.urandom(size)
    write, read_out, write_in, read = client.write, client_out.read, server_in.write, server.read

    def run(count: int) -> int:
        received = 0
        for _ in range(count):
            write(message)
            write_in(read_out())
            received += len(read(65536))
        return received

    return run


def write_contenders(setting: Setting, size: int) -> dict:
    runs = {"engine": engine_writes(setting, size), "ssl": sslobject_writes(setting, size, ssl)}
    if rtls is not None:
        runs["rtls"] = sslobject_writes(setting, size, rtls)
    return runs


CLOCKS = {"wall": time.perf_counter, "cpu": time.thread_time}


def interleaved(runs: dict, count: int, rounds: int, clock: str = "wall") -> dict:
    """name -> per-round seconds for ``count`` writes, contenders back to back, order rotating.

    ``clock`` "cpu" counts this thread's processor time, which leaves out the time other
    processes held the processor on a busy machine (every contender runs on this thread).
    """
    items = list(runs.items())
    seconds = {name: [] for name, _ in items}
    now = CLOCKS[clock]
    for index in range(rounds):
        shift = index % len(items)
        for name, run in items[shift:] + items[:shift]:
            start = now()
            run(count)
            seconds[name].append(now() - start)
    return seconds


def write_rows(setting: Setting, rounds: int, seconds_per_round: float = 0.1,
               clock: str = "wall", contenders=write_contenders) -> list[dict]:
    """One row per write size: MB/s of every contender, ratios to ssl (medians of per-round).
    ``contenders(setting, size)`` gives each contender's function doing ``count`` writes."""
    rows = []
    for size in SIZES:
        runs = contenders(setting, size)
        for name, run in runs.items():  # warm up, and check that every byte arrives
            if run(50) != 50 * size:
                raise RuntimeError("%s lost data" % name)
        start = time.perf_counter()
        runs["ssl"](200)
        count = max(50, int(200 * seconds_per_round / (time.perf_counter() - start)))
        seconds = interleaved(runs, count, rounds, clock)
        row = {"size": size, "count": count, "rounds": rounds,
               "MB/s": {name: count * size / statistics.median(values) / 1e6
                        for name, values in seconds.items()},
               "us/write": {name: statistics.median(values) / count * 1e6
                            for name, values in seconds.items()}}
        row["ratio to ssl"] = {
            name: statistics.median(s / t for s, t in zip(seconds["ssl"], values))
            for name, values in seconds.items() if name != "ssl"}
        rows.append(row)
    return rows


# --- one record, standalone --------------------------------------------------------------


def record_rows(rounds: int) -> list[dict]:
    """Microseconds of Sealer.seal and Opener.open of one record, native and Python."""
    backends = ["python"]
    if native_records():
        backends.insert(0, "native")
    suite, key, iv = "TLS_AES_256_GCM_SHA384", os.urandom(32), os.urandom(12)
    rows = []
    for size in (64, 16384):
        data = os.urandom(size)
        wire = None
        for operation in ("seal", "open"):
            micros = {backend: _one_record_micros(operation, backend, suite, key, iv, data,
                                                  wire, rounds)
                      for backend in backends}
            row = {"operation": operation, "size": size, "us": micros}
            if "native" in micros:
                row["python over native"] = micros["python"] / micros["native"]
            rows.append(row)
    return rows


def _one_record_micros(operation, backend, suite, key, iv, data, wire, rounds) -> float:
    """Median over rounds of the microseconds one call takes: one Sealer sealing ``data`` again
    and again, or one Opener opening records of ``data`` one at a time, in order."""
    count = 2000 if len(data) < 1024 else 400
    samples = []
    for _ in range(rounds):
        if operation == "seal":
            sealer = Sealer(suite, key, iv, backend=backend)
            start = time.perf_counter()
            for _ in range(count):
                sealer.seal(data)
            samples.append((time.perf_counter() - start) / count * 1e6)
        else:
            sealer = Sealer(suite, key, iv, backend="python")
            records = [sealer.seal(data) for _ in range(count)]
            opener = Opener(suite, key, iv, backend=backend)
            start = time.perf_counter()
            for record in records:
                opener.open(record)
            samples.append((time.perf_counter() - start) / count * 1e6)
    return statistics.median(samples)


# --- the tables ----------------------------------------------------------------------------


def format_write_rows(rows: list[dict]) -> str:
    names = list(rows[0]["MB/s"])
    lines = ["%-8s %s %s" % ("write", " ".join("%14s" % ("%s MB/s" % n) for n in names),
                             " ".join("%16s" % ("%s/ssl" % n) for n in names if n != "ssl"))]
    for row in rows:
        lines.append("%-8s %s %s" % (
            "%d B" % row["size"],
            " ".join("%14.1f" % row["MB/s"][n] for n in names),
            " ".join("%16.2f" % row["ratio to ssl"][n] for n in names if n != "ssl")))
    return "\n".join(lines)


def format_record_rows(rows: list[dict]) -> str:
    lines = ["%-12s %10s %10s %18s" % ("one record", "native us", "python us", "python/native")]
    for row in rows:
        us = row["us"]
        lines.append("%-12s %10s %10.2f %18s" % (
            "%s %d B" % (row["operation"], row["size"]),
            "%.2f" % us["native"] if "native" in us else "-", us["python"],
            "%.1f" % row["python over native"] if "python over native" in row else "-"))
    return "\n".join(lines)


# --- pytest-benchmark ----------------------------------------------------------------------

try:
    import pytest
except ImportError:  # script mode without pytest installed
    pytest = None

if pytest is not None:

    @pytest.fixture(scope="module")
    def setting():
        with tempfile.TemporaryDirectory() as directory:
            yield Setting(directory)

    @pytest.mark.parametrize("size", SIZES)
    @pytest.mark.benchmark(group="connection-writes")
    def test_engine_writes(benchmark, setting, size):
        run = engine_writes(setting, size)
        assert benchmark(run, 100) == 100 * size

    @pytest.mark.parametrize("size", SIZES)
    @pytest.mark.benchmark(group="connection-writes")
    def test_ssl_writes(benchmark, setting, size):
        run = sslobject_writes(setting, size, ssl)
        assert benchmark(run, 100) == 100 * size

    @pytest.mark.parametrize("path", ["memory", "sockets"])
    @pytest.mark.benchmark(group="connection-ratios")
    def test_write_ratios_interleaved(benchmark, setting, path):
        """Medians of per-round ratios, recorded in extra_info; no threshold. ``path``: the
        connections over memory, or blocking TLS sockets over a socket pair."""
        from connection_sockets import socket_contenders

        contenders = write_contenders if path == "memory" else socket_contenders
        result = {}
        benchmark.pedantic(lambda: result.setdefault(
            "rows", write_rows(setting, rounds=7, contenders=contenders)),
                           rounds=1, iterations=1)
        for row in result["rows"]:
            for name, ratio in row["ratio to ssl"].items():
                benchmark.extra_info["%s/ssl %d B" % (name, row["size"])] = ratio
        print("\n" + format_write_rows(result["rows"]))
        assert all(r > 0 for row in result["rows"] for r in row["ratio to ssl"].values())

    @pytest.mark.benchmark(group="connection-one-record")
    def test_one_record_standalone(benchmark):
        result = {}
        benchmark.pedantic(lambda: result.setdefault("rows", record_rows(rounds=5)),
                           rounds=1, iterations=1)
        for row in result["rows"]:
            for backend, micros in row["us"].items():
                benchmark.extra_info["%s %d B %s us" % (row["operation"], row["size"],
                                                        backend)] = micros
        print("\n" + format_record_rows(result["rows"]))
        assert all(m > 0 for row in result["rows"] for m in row["us"].values())


# --- script mode ---------------------------------------------------------------------------


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall",
                        help="wall time, or this thread's processor time (steadier on a "
                        "busy machine)")
    parser.add_argument("--sockets", action="store_true",
                        help="also the writes through blocking TLS sockets")
    parser.add_argument("--asyncio", action="store_true", help="also the asyncio echo sessions")
    parser.add_argument("--memory", action="store_true", help="also the memory per pair")
    parser.add_argument("--profile", action="store_true",
                        help="also a cProfile of the engine's 64 B writes")
    args = parser.parse_args(argv)
    from engine._backend import resolve

    with tempfile.TemporaryDirectory() as directory:
        setting = Setting(directory)
        print("engine backend: %s; %s; rtls: %s; engine and ssl use %s, rtls its default"
              % (resolve(), ssl.OPENSSL_VERSION,
                 getattr(rtls, "__version__", "not installed"), setting.suite))
        print("\nwrites sealed by the client and read by the server, over memory "
              "(medians of %d interleaved rounds, %s clock)" % (args.rounds, args.clock))
        print(format_write_rows(write_rows(setting, args.rounds, clock=args.clock)))
        if args.sockets:
            from connection_sockets import socket_contenders

            print("\nwrites through blocking TLS sockets over a socket pair, sendall and "
                  "recv_into (medians of %d interleaved rounds, %s clock)"
                  % (args.rounds, args.clock))
            print(format_write_rows(write_rows(setting, args.rounds, clock=args.clock,
                                               contenders=socket_contenders)))
        print()
        print(format_record_rows(record_rows(rounds=max(3, args.rounds // 3))))
        if args.profile:
            import cProfile
            import pstats

            run = engine_writes(setting, 64)
            profiler = cProfile.Profile()
            profiler.runcall(run, 100000)
            pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(12)
    if args.asyncio:
        from connection_asyncio import asyncio_rows, format_asyncio_rows

        print()
        print(format_asyncio_rows(asyncio_rows(rounds=max(3, args.rounds // 5))))
    if args.memory:
        from connection_memory import format_memory_rows, memory_rows

        print()
        print(format_memory_rows(memory_rows()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
