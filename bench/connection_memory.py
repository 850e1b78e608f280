"""Memory per established connection pair: N client/server pairs of one stack held in one
process, each having carried one message each way; the growth of the resident set divided by
N. Each contender runs in a fresh interpreter. Used by bench_connection.py (``--memory``).
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import tempfile

PAIRS = 10000
CONTENDERS = ("engine", "ssl", "rtls")


def _rss() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def _hold(name: str, pairs: int) -> float:
    """Bytes of resident memory per pair of ``name``, measured in this process."""
    from tls_setting import Setting, engine_handshake, memory_handshake, rtls

    with tempfile.TemporaryDirectory() as directory:
        setting = Setting(directory)
    module = {"ssl": __import__("ssl"), "rtls": rtls}.get(name)
    if name == "rtls" and rtls is None:
        return float("nan")

    def one():
        if name == "engine":
            client, server = engine_handshake(setting)
            client.send_data(b"ping")
            server.receive_data(client.data_to_send())
            server.send_data(b"pong")
            client.receive_data(server.data_to_send())
            return client, server
        client, server, (c_in, c_out, s_in, s_out) = memory_handshake(
            module, *setting.contexts(name))
        client.write(b"ping")
        s_in.write(c_out.read())
        server.read(100)
        server.write(b"pong")
        c_in.write(s_out.read())
        client.read(100)
        return client, server, c_in, c_out, s_in, s_out

    held = [one() for _ in range(20)]  # warm up: caches, first allocations
    gc.collect()
    before = _rss()
    held += [one() for _ in range(pairs)]
    gc.collect()
    return (_rss() - before) / pairs


def memory_rows(pairs: int = PAIRS) -> dict:
    """name -> bytes per established pair (each in a fresh interpreter)."""
    here = os.path.dirname(os.path.abspath(__file__))
    rows = {}
    for name in CONTENDERS:
        out = subprocess.run([sys.executable, os.path.abspath(__file__), name, str(pairs)],
                             capture_output=True, text=True, check=True, cwd=here)
        rows[name] = json.loads(out.stdout)
    return {"pairs": pairs, "bytes/pair": rows}


def format_memory_rows(row: dict) -> str:
    lines = ["memory per established pair (%d pairs held in one process)" % row["pairs"]]
    for name, size in row["bytes/pair"].items():
        lines.append("%-8s %10s" % (name, "-" if size != size else "%.1f KiB" % (size / 1024)))
    return "\n".join(lines)


if __name__ == "__main__":
    if len(sys.argv) == 3:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        print(json.dumps(_hold(sys.argv[1], int(sys.argv[2]))))
    else:
        print(format_memory_rows(memory_rows()))
