"""``engine s_server``: where it listens, how it prints addresses, and how fast it stops."""

from __future__ import annotations

import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

import engine
from engine.blocking import TLSSocket
from engine.pki import TrustStore
from engine.tls import ClientConfig, ClientConnection

TIMEOUT = 20


def accept_lines(proc, count: int) -> list:
    """The addresses of the first ``count`` ACCEPT lines (printed once it listens)."""
    lines: queue.Queue = queue.Queue()

    def read():
        for _ in range(count):
            lines.put(proc.stdout.readline().decode())

    threading.Thread(target=read, daemon=True).start()
    addresses = []
    for _ in range(count):
        try:
            line = lines.get(timeout=TIMEOUT)
        except queue.Empty:
            pytest.fail("s_server printed %d ACCEPT lines, not %d" % (len(addresses), count))
        assert line.startswith("ACCEPT "), (line, addresses)
        addresses.append(line.split()[1])
    return addresses


def start(files, *args: str):
    return subprocess.Popen([sys.executable, "-m", "engine", "s_server", "--port", "0",
                             "--cert", files.cert, "--key", files.key, *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def stop(proc) -> tuple:
    proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        code = proc.wait(TIMEOUT)
    stderr = proc.stderr.read().decode()
    proc.stdout.close()
    proc.stderr.close()
    return code, stderr


def client_config(files) -> ClientConfig:
    return ClientConfig(trust=TrustStore.from_pem(files.ca))


def round_trip(files, host: str, port: int) -> bytes:
    with engine.connect(host, port, client_config(files), server_name="localhost",
                        timeout=TIMEOUT) as tls:
        tls.sendall(b"via " + host.encode())
        return tls.recv_exactly(len(host) + 4)


def ipv6_loopback() -> bool:
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
        return True
    except OSError:
        return False


needs_ipv6 = pytest.mark.skipif(not ipv6_loopback(), reason="no IPv6 loopback here")


@needs_ipv6
def test_the_ipv6_wildcard_serves_ipv4_and_ipv6_and_prints_brackets(files):
    if not socket.has_dualstack_ipv6():
        pytest.skip("no dual-stack sockets here")
    proc = start(files, "--host", "::")
    try:
        (address,) = accept_lines(proc, 1)
        match = re.fullmatch(r"\[::\]:(\d+)", address)
        assert match, address
        port = int(match.group(1))
        assert round_trip(files, "127.0.0.1", port) == b"via 127.0.0.1"
        assert round_trip(files, "::1", port) == b"via ::1"
        client = subprocess.run([sys.executable, "-m", "engine", "s_client", "[::1]:%d" % port,
                                 "--name", "localhost", "--trust", files.ca,
                                 "--idle-timeout", "0.5"], input=b"v6", capture_output=True,
                                timeout=TIMEOUT)
        assert client.stdout == b"v6", client.stderr
        assert "CONNECTED to localhost ([::1]:%d)" % port in client.stderr.decode()
    finally:
        code, stderr = stop(proc)
    assert code == 0, stderr
    assert re.search(r"^\[::1\]:\d+: TLSv1\.3", stderr, re.M), stderr
    assert re.search(r"^127\.0\.0\.1:\d+: TLSv1\.3", stderr, re.M), stderr


@needs_ipv6
def test_localhost_is_both_loopbacks_on_one_port(files):
    proc = start(files, "--host", "localhost")
    try:
        addresses = sorted(accept_lines(proc, 2))
        ports = {address.rsplit(":", 1)[1] for address in addresses}
        assert len(ports) == 1
        port = int(ports.pop())
        assert addresses == ["127.0.0.1:%d" % port, "[::1]:%d" % port]
        assert round_trip(files, "127.0.0.1", port) == b"via 127.0.0.1"
        assert round_trip(files, "::1", port) == b"via ::1"
    finally:
        code, stderr = stop(proc)
    assert code == 0, stderr


def test_stop_closes_twenty_clients_that_stopped_reading_at_once(files):
    """Each echo is blocked writing to a client that reads nothing. Stopping used to take two
    seconds per such client (40 s here); now it is one bounded wait for all of them."""
    proc = start(files)
    (address,) = accept_lines(proc, 1)
    port = int(address.rsplit(":", 1)[1])
    progress = []
    threads = []
    sockets = []

    def push(tls, index):
        chunk = bytes(65536)
        try:
            for _ in range(128):  # 8 MiB, more than the echo can write back unread
                tls.sendall(chunk)
                progress[index] += 1
        except OSError:
            pass
        progress[index] = -1  # done: finished or cut off

    try:
        for index in range(20):
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # fills at once
            sock.settimeout(TIMEOUT)
            sock.connect(("127.0.0.1", port))
            sockets.append(sock)
            tls = TLSSocket(sock, ClientConnection(client_config(files), "localhost"))
            tls.do_handshake()
            progress.append(0)
            thread = threading.Thread(target=push, args=(tls, index), daemon=True)
            thread.start()
            threads.append(thread)
        while True:  # until every client is done or blocked: the echoes are blocked too
            before = list(progress)
            time.sleep(0.3)
            if progress == before:
                break
        code, stderr = stop(proc)  # waits TIMEOUT seconds at most, then kills
    finally:
        if proc.returncode is None:
            proc.kill()
        for sock in sockets:
            sock.close()
    assert code == 0, stderr
    assert "stopped after 20 connections" in stderr
