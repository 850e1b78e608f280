"""Instructions per 64-byte round trip (client ``send_data``, ``data_to_send``, server
``receive_data``), counted by valgrind's callgrind: a count that stays the same however busy the
machine is, where wall-clock figures move by a third.

Two variants, each run under callgrind at two write counts; the difference divided by the extra
writes is the cost of one round trip, without the setup:

- ``engine``: the connection API, as a user calls it;
- ``core``: the same three calls into the record core made straight from a loop, with the output
  buffers, the slice and the event, but none of the connection's checks: what the connection's
  own Python costs is the difference.

    python bench/connection_instructions.py [--size 64]

Needs valgrind (Debian's package); takes a minute or two.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

FEW, MANY = 2000, 12000


def run(variant: str, size: int, count: int, directory: str) -> None:
    """The loop that callgrind counts (in the child process)."""
    from tls_setting import Setting, engine_handshake

    from engine.tls.events import ApplicationData

    client, server = engine_handshake(Setting(directory))
    message = os.urandom(size)
    client.send_data(message)  # the lazily made record keys, before the counted loop
    server.receive_data(client.data_to_send())
    received = 0
    if variant == "engine":
        send, take, receive = client.send_data, client.data_to_send, server.receive_data
        for _ in range(count):
            send(message)
            for event in receive(take()):
                received += len(event.data)
        return
    writer, reader = client._records, server._records
    write, take, sizes, handle = writer._write, writer._take, writer._sizes, writer._handle
    read, result, peer = reader._read, reader._result, reader._handle
    for _ in range(count):
        write(handle, 23, message, size)
        n = sizes.to_send
        wire = bytes(n)
        take(handle, wire, n)
        out = bytes(n)
        read(peer, wire, n, out, n, result)
        for event in [ApplicationData(out[:result.data_len])]:
            received += len(event.data)


def instructions(variant: str, size: int, count: int, directory: str) -> int:
    command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
               os.path.abspath(__file__), "--child", variant, "--size", str(size),
               "--count", str(count), "--directory", directory]
    done = subprocess.run(command, capture_output=True, text=True, check=True,
                          env={**os.environ, "PYTHONHASHSEED": "0"})
    found = re.search(r"Collected : (\d+)", done.stderr)
    if found is None:
        raise RuntimeError("callgrind printed no count:\n" + done.stderr[-2000:])
    return int(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--child", choices=("engine", "core"))
    parser.add_argument("--count", type=int)
    parser.add_argument("--directory")
    args = parser.parse_args()
    if args.child:
        run(args.child, args.size, args.count, args.directory)
        return
    if shutil.which("valgrind") is None:
        sys.exit("connection_instructions: valgrind is not installed (apt install valgrind)")
    with tempfile.TemporaryDirectory() as directory:
        for variant in ("engine", "core"):
            few = instructions(variant, args.size, FEW, directory)
            many = instructions(variant, args.size, MANY, directory)
            print("%-7s %6d instructions per %d-byte round trip"
                  % (variant, (many - few) // (MANY - FEW), args.size))


if __name__ == "__main__":
    main()
