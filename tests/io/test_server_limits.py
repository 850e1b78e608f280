"""engine.blocking.Server's bounds: the handshake deadline, the idle timeout, the number of
connections served at once, how fast it stops, and where it listens."""

from __future__ import annotations

import select
import socket
import threading
import time

import pytest

import engine
from engine.blocking import Server
from engine.tls import ClientConfig, ClientConnection, ServerConfig
from tests._support.peers import TIMEOUT, echo, serving, wait_for


def closed_by_peer(sock: socket.socket, wait: float) -> bool:
    """Whether ``sock`` reached end of file (or reset) within ``wait`` seconds."""
    if not select.select([sock], [], [], wait)[0]:
        return False
    try:
        return sock.recv(65536) == b""
    except ConnectionError:
        return True


def test_the_handshake_has_a_deadline_a_client_cannot_stretch(creds):
    """One byte every 0.1 s resets a per-read timeout forever; the deadline still comes."""
    errors = []
    server = Server("127.0.0.1", 0, ServerConfig([creds.server]), echo,
                    handshake_timeout=1.0, on_error=lambda a, e: errors.append(e))
    with serving(server):
        hello = ClientConnection(ClientConfig(trust=creds.trust), "localhost").data_to_send()
        with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            closed = False
            for byte in hello[:80]:  # 8 s of dribbling at least, the last byte never comes
                try:
                    sock.sendall(bytes((byte,)))
                except ConnectionError:
                    closed = True
                    break
                if closed_by_peer(sock, 0.1):
                    closed = True
                    break
        assert closed, "the server waited for the whole dribble"
        wait_for(lambda: errors)
    assert isinstance(errors[0], TimeoutError)
    assert "did not complete" in str(errors[0])


def test_an_idle_connection_is_closed_after_idle_timeout(creds):
    errors = []
    server = Server("127.0.0.1", 0, ServerConfig([creds.server]), echo, idle_timeout=1.0,
                    on_error=lambda a, e: errors.append(e))
    with serving(server):
        with engine.connect("localhost", server.port, ClientConfig(trust=creds.trust),
                            timeout=TIMEOUT) as tls:
            tls.sendall(b"ping")
            assert tls.recv_exactly(4) == b"ping"
            assert tls.recv(10) == b""  # the server's close_notify, once we stayed quiet
        wait_for(lambda: errors)
    assert isinstance(errors[0], TimeoutError)


def test_at_most_max_concurrent_connections_are_served_at_once(creds):
    lock = threading.Lock()
    gate = threading.Event()
    counts = {"active": 0, "peak": 0}

    def hold(tls):
        with lock:
            counts["active"] += 1
            counts["peak"] = max(counts["peak"], counts["active"])
        gate.wait(TIMEOUT)
        with lock:
            counts["active"] -= 1
        tls.sendall(b"done")

    results = []

    def client(port):
        with engine.connect("localhost", port, ClientConfig(trust=creds.trust),
                            timeout=TIMEOUT) as tls:
            results.append(tls.recv_exactly(4))

    server = Server("127.0.0.1", 0, ServerConfig([creds.server]), hold, max_concurrent=2)
    with serving(server):
        threads = [threading.Thread(target=client, args=(server.port,)) for _ in range(5)]
        for thread in threads:
            thread.start()
        wait_for(lambda: counts["active"] == 2)
        time.sleep(0.5)  # room for a third handler to start if the bound did not hold
        assert counts["active"] == 2
        gate.set()
        for thread in threads:
            thread.join(TIMEOUT)
    assert results == [b"done"] * 5
    assert counts["peak"] == 2


def test_stop_ends_connections_blocked_on_clients_that_stopped_reading_together(creds):
    """Each handler is stuck writing to a client that reads nothing: stopping takes one
    bounded wait for all of them, not one per connection."""
    written = {}

    def stream(tls):
        chunk = bytes(65536)
        while True:
            tls.sendall(chunk)
            written[threading.get_ident()] = written.get(threading.get_ident(), 0) + 1

    server = Server("127.0.0.1", 0, ServerConfig([creds.server]), stream,
                    on_error=lambda a, e: None)
    stop = threading.Event()
    thread = threading.Thread(target=server.serve_forever,
                              kwargs={"stop": stop, "drain_timeout": 1.0}, daemon=True)
    thread.start()
    clients = [engine.connect("localhost", server.port, ClientConfig(trust=creds.trust),
                              timeout=TIMEOUT) for _ in range(10)]
    try:
        wait_for(lambda: len(written) == 10)
        while True:  # until no handler has written for a while: all are blocked
            before = dict(written)
            time.sleep(0.3)
            if written == before:
                break
        stop.set()
        thread.join(TIMEOUT)  # old behaviour: 2 s per connection, 20 s here
        assert not thread.is_alive()
    finally:
        for tls in clients:
            tls._abort()


def test_localhost_listens_on_both_loopbacks_on_one_port(creds):
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this host")
    try:
        server = Server("localhost", 0, ServerConfig([creds.server]), echo)
    except OSError as exc:
        pytest.skip("cannot listen on ::1 here: %s" % exc)
    hosts = sorted(address[0] for address in server.addresses)
    if hosts != ["127.0.0.1", "::1"]:
        server.close()
        pytest.skip("the loopbacks here are %s" % hosts)
    assert len({address[1] for address in server.addresses}) == 1
    with serving(server):
        for host in ("127.0.0.1", "::1"):
            with engine.connect(host, server.port, ClientConfig(trust=creds.trust),
                                server_name="localhost", timeout=TIMEOUT) as tls:
                tls.sendall(host.encode())
                assert tls.recv_exactly(len(host)) == host.encode()


def test_the_ipv6_wildcard_also_accepts_ipv4_where_the_system_allows(creds):
    if not socket.has_dualstack_ipv6():
        pytest.skip("no dual-stack sockets on this host")
    server = Server("::", 0, ServerConfig([creds.server]), echo)
    with serving(server):
        for host in ("127.0.0.1", "::1"):
            with engine.connect(host, server.port, ClientConfig(trust=creds.trust),
                                server_name="localhost", timeout=TIMEOUT) as tls:
                tls.sendall(b"both")
                assert tls.recv_exactly(4) == b"both"


def test_a_server_config_is_required(creds):
    with pytest.raises(TypeError, match="ServerConfig"):
        Server("127.0.0.1", 0, ClientConfig(trust=creds.trust), echo)
