"""Echo sessions over loopback with asyncio: engine.aio against asyncio's streams with ssl.

A session connects, completes the handshake, sends small messages one after another (each
echoed by the server before the next is sent) and closes. Many sessions run at once; client and
server share one event loop in this process, as they share the machine. Reported per contender:
sessions per second and the 99th percentile of a message's round trip; rounds alternate the
contenders. Used by bench_connection.py (``--asyncio``).
"""

from __future__ import annotations

import asyncio
import os
import ssl
import statistics
import tempfile
import time

from tls_setting import Setting

import engine.aio

SESSIONS = 1000
MESSAGES = 20
SIZE = 64


async def _echo(reader, writer) -> None:
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


async def _session(connect, latencies: list, message: bytes) -> None:
    reader, writer = await connect()
    clock = time.perf_counter
    for _ in range(MESSAGES):
        start = clock()
        writer.write(message)
        await reader.readexactly(len(message))
        latencies.append(clock() - start)
    writer.close()
    try:
        await writer.wait_closed()
    except (ConnectionError, OSError):
        pass


async def _run(name: str, setting: Setting, sessions: int) -> tuple[float, float]:
    """(sessions per second, 99th percentile round trip in ms) of one contender."""
    if name == "engine":
        server = await engine.aio.start_server(_echo, "127.0.0.1", 0, setting.server_config,
                                               backlog=sessions)
        port = server.sockets[0].getsockname()[1]

        def connect():
            return engine.aio.open_connection("127.0.0.1", port, setting.client_config,
                                              server_name="localhost")
    else:
        server = await asyncio.start_server(_echo, "127.0.0.1", 0, ssl=setting.ssl_server,
                                            backlog=sessions)
        port = server.sockets[0].getsockname()[1]

        def connect():
            return asyncio.open_connection("127.0.0.1", port, ssl=setting.ssl_client,
                                           server_hostname="localhost")
    latencies: list = []
    message = os.urandom(SIZE)
    start = time.perf_counter()
    async with server:
        await asyncio.gather(*(_session(connect, latencies, message) for _ in range(sessions)))
        elapsed = time.perf_counter() - start
    if len(latencies) != sessions * MESSAGES:
        raise RuntimeError("%s lost messages" % name)
    latencies.sort()
    return sessions / elapsed, latencies[int(0.99 * len(latencies))] * 1000


def asyncio_rows(rounds: int = 3, sessions: int = SESSIONS) -> dict:
    """Per contender: sessions/s and p99 ms (medians over rounds), and the engine's ratio."""
    with tempfile.TemporaryDirectory() as directory:
        setting = Setting(directory)
        names = ["engine", "ssl"]
        rates = {name: [] for name in names}
        p99 = {name: [] for name in names}
        asyncio.run(_run("engine", setting, 50))  # warm up
        asyncio.run(_run("ssl", setting, 50))
        for index in range(rounds):
            for name in names[index % 2:] + names[:index % 2]:
                rate, tail = asyncio.run(_run(name, setting, sessions))
                rates[name].append(rate)
                p99[name].append(tail)
    return {"sessions": sessions, "messages": MESSAGES, "size": SIZE, "rounds": rounds,
            "sessions/s": {n: statistics.median(v) for n, v in rates.items()},
            "p99 ms": {n: statistics.median(v) for n, v in p99.items()},
            "engine/ssl": statistics.median(e / s for e, s in zip(rates["engine"],
                                                                  rates["ssl"]))}


def format_asyncio_rows(row: dict) -> str:
    lines = ["asyncio echo: %d sessions at once, %d messages of %d B each, over loopback "
             "(medians of %d rounds)" % (row["sessions"], row["messages"], row["size"],
                                         row["rounds"]),
             "%-8s %12s %10s" % ("", "sessions/s", "p99 ms")]
    for name in row["sessions/s"]:
        lines.append("%-8s %12.0f %10.2f" % (name, row["sessions/s"][name], row["p99 ms"][name]))
    lines.append("engine/ssl sessions/s: %.2f" % row["engine/ssl"])
    return "\n".join(lines)


if __name__ == "__main__":
    print(format_asyncio_rows(asyncio_rows()))
