"""Resumption and 0-RTT against independent stacks (RFC 8446 2.2, 2.3): ``openssl s_client``
and Python's ``ssl`` resuming the engine's tickets, the engine resuming theirs, and the commands'
session and early-data options."""

from __future__ import annotations

import contextlib
import socket
import ssl
import subprocess
import sys
import time

import pytest

from engine.blocking import connect
from engine.tls import (
    ClientConfig, ClientConnection, EarlyDataRejected, HandshakeComplete, ServerConfig,
    SessionTicketReceived,
)
from tests._support.peers import SServer, ssl_client_context, ssl_server_context, wait_for

TIMEOUT = 20
TICKET_ARRIVED = "Post-Handshake New Session Ticket arrived"


def openssl_verifying(pki) -> list:
    return ["-CAfile", pki.ca_path, "-verify_return_error", "-servername", "localhost"]


def openssl_session_out(openssl_client, port: int, pki, path, tickets: int = 2) -> str:
    """Run ``openssl s_client -sess_out`` until the tickets came (a line is echoed after them)
    and it exited (it prints the tickets on exit); what it printed."""
    client = openssl_client(port, *openssl_verifying(pki), "-sess_out", str(path))
    client.wait_for(r"Verify return code: 0 \(ok\)")
    client.write(b"echo session\n")
    client.wait_for(r"\necho session\n")
    client.close_stdin()
    client.wait()
    client.wait_count(TICKET_ARRIVED, tickets)
    return client.output


def engine_exchange(port: int, config, early_data=None) -> list:
    """One engine connection over a socket, with optional 0-RTT data: the handshake and the
    tickets that follow it, then an orderly close. Returns the events."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    events = []
    try:
        conn = ClientConnection(config, "localhost", early_data=early_data)
        sock.sendall(conn.data_to_send())
        while not any(isinstance(e, SessionTicketReceived) for e in events):
            received = sock.recv(65536)
            events += conn.receive_data(received)
            sock.sendall(conn.data_to_send())
            if not received:
                break
        conn.close()  # close_notify: openssl keeps a cleanly closed session in its cache
        sock.sendall(conn.data_to_send())
    finally:
        sock.close()
    return events


def nth_handshake(server, count: int) -> HandshakeComplete:
    """The engine server's ``count``-th handshake, once it is done."""
    deadline = time.monotonic() + TIMEOUT
    while len(server.handshakes) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(server.handshakes) >= count, server.errors
    return server.handshakes[count - 1]


def completed(events) -> HandshakeComplete:
    return next(e for e in events if isinstance(e, HandshakeComplete))


# --- other clients resume the engine's sessions -------------------------------------------------


def test_openssl_s_client_resumes_an_engine_session(pki, engine_server, openssl_client, tmp_path):
    server = engine_server(ServerConfig([pki.servers["p256"].keystore]))
    path = tmp_path / "session.pem"
    first = openssl_session_out(openssl_client, server.port, pki, path)
    assert "New, TLSv1.3" in first
    client = openssl_client(server.port, *openssl_verifying(pki), "-sess_in", str(path))
    client.wait_for("Reused, TLSv1.3")
    handshake = nth_handshake(server, 2)
    assert handshake.resumed and handshake.signature_scheme is None


def test_openssl_s_client_early_data_is_accepted(pki, engine_server, openssl_client, tmp_path):
    server = engine_server(ServerConfig([pki.servers["p256"].keystore], max_early_data=16384))
    path = tmp_path / "session.pem"
    assert "Max Early Data: 16384" in openssl_session_out(openssl_client, server.port, pki, path)
    early = tmp_path / "early.txt"
    early.write_bytes(b"early request\n")
    client = openssl_client(server.port, *openssl_verifying(pki), "-sess_in", str(path),
                            "-early_data", str(early))
    client.wait_for("Reused, TLSv1.3")
    client.wait_for("Early data was accepted")
    handshake = nth_handshake(server, 2)
    assert handshake.resumed and handshake.early_data_accepted is True


def test_python_ssl_client_reuses_an_engine_session(pki, engine_server):
    server = engine_server(ServerConfig([pki.servers["p256"].keystore]))
    context = ssl_client_context(pki.ca_path)
    session, reused = None, []
    for _ in range(3):
        with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT) as sock:
            with context.wrap_socket(sock, server_hostname="localhost", session=session) as tls:
                tls.sendall(b"ping")
                assert tls.recv(4) == b"ping"  # the tickets came before the echo
                reused.append(tls.session_reused)
                session = tls.session
    assert reused == [False, True, True]


# --- the engine resumes other servers' sessions -------------------------------------------------


def test_engine_client_resumes_with_openssl_s_server(pki, openssl_server):
    server = openssl_server(pki.servers["p256"])
    config = ClientConfig(trust=pki.trust)
    events = engine_exchange(server.port, config)
    assert not completed(events).resumed and len(config.session_cache) >= 1
    events = engine_exchange(server.port, config)
    assert completed(events).resumed and completed(events).peer_chain


def test_engine_client_early_data_is_accepted_by_openssl_s_server(pki, openssl_server):
    server = openssl_server(pki.servers["p256"], "-early_data")
    config = ClientConfig(trust=pki.trust)
    first = engine_exchange(server.port, config)
    assert [e.session.max_early_data > 0 for e in first
            if isinstance(e, SessionTicketReceived)][0]
    events = engine_exchange(server.port, config, early_data=b"0-RTT hello\n")
    assert completed(events).resumed and completed(events).early_data_accepted is True
    assert not any(isinstance(e, EarlyDataRejected) for e in events)
    server.wait_for("0-RTT hello")


def test_engine_client_resumes_with_python_ssl_server(pki, ssl_server):
    context = ssl_server_context(pki.servers["p256"])
    context.num_tickets = 2
    reused = []

    def handler(tls):
        reused.append(tls.session_reused)
        with contextlib.suppress(ssl.SSLError, OSError):
            tls.sendall(tls.recv(65536))

    server = ssl_server(context, handler)
    config = ClientConfig(trust=pki.trust)
    for expected in (False, True):
        events = engine_exchange(server.port, config)
        assert completed(events).resumed is expected
    # the server's thread records the second handshake after the client has seen its tickets
    wait_for(lambda: len(reused) == 2)
    assert reused == [False, True]


def test_engine_blocking_connections_resume_through_the_config_cache(pki, engine_server):
    server = engine_server(ServerConfig([pki.servers["p256"].keystore]))
    config = ClientConfig(trust=pki.trust)
    for expected in (False, True, True):
        with connect("127.0.0.1", server.port, config, server_name="localhost",
                     timeout=TIMEOUT) as tls:
            tls.sendall(b"x")
            assert tls.recv(1) == b"x"
            assert tls.handshake.resumed is expected


# --- the commands -------------------------------------------------------------------------------


def engine_s_client(pki, port: int, *extra: str, stdin: bytes = b"") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "engine", "s_client", "127.0.0.1:%d" % port, "--name",
         "localhost", "--trust", pki.ca_path, "--idle-timeout", "0.5", *extra],
        input=stdin, capture_output=True, timeout=TIMEOUT)


def test_engine_s_client_sess_out_and_sess_in_with_openssl_s_server(pki, openssl_server,
                                                                     tmp_path):
    server = openssl_server(pki.servers["p256"], "-www")
    path = tmp_path / "engine.session"
    request = b"GET / HTTP/1.0\r\n\r\n"
    first = engine_s_client(pki, server.port, "--sess-out", str(path), stdin=request)
    assert first.returncode == 0, first.stderr
    assert b"New, TLSv1.3" in first.stderr and b"New, TLSv1.3" in first.stdout
    assert path.stat().st_mode & 0o077 == 0  # it holds a secret
    second = engine_s_client(pki, server.port, "--sess-in", str(path), stdin=request)
    assert second.returncode == 0, second.stderr
    assert b"Reused, TLSv1.3" in second.stderr  # our view
    assert b"Reused, TLSv1.3" in second.stdout  # openssl's page: its view


def test_engine_s_client_with_a_damaged_session_file_is_a_usage_error(pki, tmp_path):
    path = tmp_path / "damaged.session"
    path.write_bytes(b"not a session")
    result = engine_s_client(pki, 9, "--sess-in", str(path))
    assert result.returncode == 2
    assert b"--sess-in" in result.stderr and b"Traceback" not in result.stderr


@contextlib.contextmanager
def engine_s_server(pki, *extra: str):
    """``engine s_server`` with the p256 certificate: yields its port and a dict that gets
    what it printed on stderr (``"stderr"``) once it has stopped."""
    identity = pki.servers["p256"]
    server = SServer("--cert", identity.cert_path, "--key", identity.key_path, *extra)
    log = {}
    try:
        yield server.port, log
    finally:
        server.stop()
        log["stderr"] = server.stderr


def test_engine_s_client_resumes_with_engine_s_server(pki, tmp_path):
    path = tmp_path / "engine.session"
    with engine_s_server(pki, "--num-tickets", "1") as (port, log):
        first = engine_s_client(pki, port, "--sess-out", str(path), stdin=b"one\n")
        assert first.returncode == 0 and first.stdout == b"one\n", first.stderr
        second = engine_s_client(pki, port, "--sess-in", str(path), stdin=b"two\n")
        assert second.returncode == 0 and second.stdout == b"two\n", second.stderr
        assert b"Reused, TLSv1.3" in second.stderr
    assert log["stderr"].count(", resumed") == 1


def test_openssl_s_client_early_data_to_engine_s_server(pki, openssl_client, tmp_path):
    path, early = tmp_path / "session.pem", tmp_path / "early.txt"
    early.write_bytes(b"early line\n")
    keys = tmp_path / "tickets.keys"
    keys.write_text("ab" * 32 + "\n")
    with engine_s_server(pki, "--max-early-data", "4096", "--ticket-keys", str(keys)) as (port,
                                                                                      log):
        openssl_session_out(openssl_client, port, pki, path)
        client = openssl_client(port, *openssl_verifying(pki), "-sess_in", str(path),
                                "-early_data", str(early))
        client.wait_for("Early data was accepted")
        client.close_stdin()
        client.wait()
    assert "resumed, 0-RTT accepted" in log["stderr"]


@pytest.mark.parametrize("options,message", [
    (("--num-tickets", "17"), "--num-tickets"),
    (("--ticket-lifetime", "0"), "--ticket-lifetime"),
    (("--no-anti-replay",), "--no-anti-replay"),
    (("--ticket-keys", "/nonexistent/keys"), "--ticket-keys"),
])
def test_engine_s_server_ticket_options_are_checked(pki, options, message):
    identity = pki.servers["p256"]
    result = subprocess.run(
        [sys.executable, "-m", "engine", "s_server", "--port", "0", "--cert", identity.cert_path,
         "--key", identity.key_path, *options], capture_output=True, timeout=TIMEOUT)
    assert result.returncode == 2
    assert message.encode() in result.stderr and b"Traceback" not in result.stderr
