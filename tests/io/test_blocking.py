"""engine.connect and engine.serve: TLS over blocking sockets on loopback."""

from __future__ import annotations

import contextlib
import socket
import threading

import pytest

import engine
from engine.blocking import Server
from engine.errors import PeerAlertError, ProtocolError
from engine.tls import ClientConfig, HandshakeComplete, ServerConfig
from tests._support.peers import TIMEOUT, echo, wait_for


@contextlib.contextmanager
def running(config, handler=echo, **serve_options):
    """serve() on 127.0.0.1:0 in a thread; yields (port, errors) and stops it afterwards."""
    errors = []
    ready = threading.Event()
    address = []
    stop = threading.Event()

    def on_ready(bound):
        address.append(bound)
        ready.set()

    thread = threading.Thread(target=engine.serve, args=("127.0.0.1", 0, config, handler),
                              kwargs={"ready": on_ready, "stop": stop,
                                      "on_error": lambda a, e: errors.append(e),
                                      **serve_options}, daemon=True)
    thread.start()
    assert ready.wait(TIMEOUT)
    try:
        yield address[0][1], errors
    finally:
        stop.set()
        thread.join(TIMEOUT)
        assert not thread.is_alive()


def test_connect_runs_the_handshake_and_exposes_what_was_agreed(creds):
    with running(ServerConfig([creds.server])) as (port, _):
        with engine.connect("localhost", port, ClientConfig(trust=creds.trust),
                            timeout=TIMEOUT) as tls:
            assert isinstance(tls.handshake, HandshakeComplete)
            assert tls.cipher_suite == tls.handshake.cipher_suite
            assert tls.group == "x25519"
            assert tls.peer_certificate == creds.server.certificate
            assert tls.getpeername()[:2] == ("127.0.0.1", port)


def test_connect_by_dns_name_uses_it_for_sni_and_the_name_check(creds):
    seen = []

    def record(tls):
        seen.append(tls.server_name)
        echo(tls)

    with running(ServerConfig([creds.server]), record) as (port, _):
        with engine.connect("localhost", port, ClientConfig(trust=creds.trust),
                            timeout=TIMEOUT) as tls:
            assert tls.server_hostname == "localhost"
            tls.sendall(b"x")
            assert tls.recv(1) == b"x"
    assert seen == ["localhost"]


def test_connect_by_ip_address_checks_the_ip_san_and_sends_no_sni(creds):
    seen = []

    def record(tls):
        seen.append(tls.server_name)

    with running(ServerConfig([creds.server]), record) as (port, _):
        with engine.connect("127.0.0.1", port, ClientConfig(trust=creds.trust),
                            timeout=TIMEOUT) as tls:
            assert tls.peer_certificate == creds.server.certificate
            assert tls.recv(1) == b""
    assert seen == [None]  # RFC 6066 section 3: no IP address in server_name


def test_connect_with_another_server_name_fails_the_name_check(creds):
    with running(ServerConfig([creds.server])) as (port, errors):
        with pytest.raises(ProtocolError) as caught:
            engine.connect("localhost", port, ClientConfig(trust=creds.trust),
                           server_name="other.example", timeout=TIMEOUT)
        assert caught.value.reason == "name_mismatch"
        wait_for(lambda: errors)
    assert isinstance(errors[0], PeerAlertError)
    assert errors[0].description == caught.value.alert


def test_failed_handshake_sends_the_alert_before_closing(creds):
    with running(ServerConfig([creds.server])) as (port, errors):
        with pytest.raises(ProtocolError) as caught:
            engine.connect("localhost", port, ClientConfig(trust=creds.stranger_trust),
                           timeout=TIMEOUT)
        assert caught.value.alert.name == "unknown_ca"
        wait_for(lambda: errors)
    assert isinstance(errors[0], PeerAlertError)
    assert errors[0].description.name == "unknown_ca"


def test_sendall_and_recv_move_a_large_payload_both_ways(creds):
    payload = bytes(range(256)) * 4096  # 1 MiB
    with running(ServerConfig([creds.server])) as (port, _):
        with engine.connect("localhost", port, ClientConfig(trust=creds.trust),
                            timeout=TIMEOUT) as tls:
            tls.sendall(payload)
            assert tls.recv_exactly(len(payload)) == payload
            assert tls.plaintext_sent == tls.plaintext_received == len(payload)
            assert tls.bytes_sent > len(payload) and tls.bytes_received > len(payload)


def test_recv_returns_empty_bytes_after_close_notify(creds):
    def say_bye(tls):
        tls.sendall(b"bye")
        tls.close()

    with running(ServerConfig([creds.server]), say_bye) as (port, _):
        with engine.connect("localhost", port, ClientConfig(trust=creds.trust),
                            timeout=TIMEOUT) as tls:
            assert tls.recv_exactly(3) == b"bye"
            assert tls.recv(10) == b""
            assert tls.recv(10) == b""
            assert "close_notify" in [alert.name for alert in tls.alerts]


def test_close_sends_close_notify_that_the_server_sees_as_end_of_data(creds):
    ended = threading.Event()

    def read_to_end(tls):
        while tls.recv(100):
            pass
        ended.set()

    with running(ServerConfig([creds.server]), read_to_end) as (port, _):
        tls = engine.connect("localhost", port, ClientConfig(trust=creds.trust), timeout=TIMEOUT)
        tls.sendall(b"some data")
        tls.close()
        assert ended.wait(TIMEOUT)
        assert tls.closed
        tls.close()  # twice is harmless
        with pytest.raises(OSError):
            tls.sendall(b"more")


def test_key_update_from_the_client_keeps_data_flowing(creds):
    with running(ServerConfig([creds.server])) as (port, _):
        with engine.connect("localhost", port, ClientConfig(trust=creds.trust),
                            timeout=TIMEOUT) as tls:
            for request_peer in (True, False, True):
                tls.key_update(request_peer=request_peer)
                tls.sendall(b"ping")
                assert tls.recv_exactly(4) == b"ping"


def test_mutual_tls_gives_the_handler_the_client_certificate(creds):
    subjects = []

    def record(tls):
        subjects.append(tls.peer_certificate.subject.rfc4514_string())
        echo(tls)

    config = ServerConfig([creds.server], trust=creds.trust, verify_client="require")
    with running(config, record) as (port, _):
        with engine.connect("localhost", port,
                            ClientConfig(trust=creds.trust, certificate=creds.client),
                            timeout=TIMEOUT) as tls:
            tls.sendall(b"hi")
            assert tls.recv_exactly(2) == b"hi"
    assert subjects == ["CN=alice"]


def test_connect_times_out_against_a_silent_server():
    with socket.create_server(("127.0.0.1", 0)) as silent:
        port = silent.getsockname()[1]
        with pytest.raises(TimeoutError):
            engine.connect("127.0.0.1", port, ClientConfig(verify=False), timeout=0.3)


def test_connect_reports_a_peer_that_closes_during_the_handshake():
    with socket.create_server(("127.0.0.1", 0)) as rude:
        port = rude.getsockname()[1]

        def accept_and_close():
            sock, _ = rude.accept()
            sock.recv(4096)
            sock.close()

        thread = threading.Thread(target=accept_and_close, daemon=True)
        thread.start()
        with pytest.raises((ConnectionError, ProtocolError)):
            engine.connect("127.0.0.1", port, ClientConfig(verify=False), timeout=TIMEOUT)
        thread.join(TIMEOUT)


def test_serve_runs_connections_concurrently(creds):
    both_inside = threading.Barrier(2, timeout=TIMEOUT)

    def meet(tls):
        both_inside.wait()  # only passes if two handlers run at the same time
        tls.sendall(b"met")

    with running(ServerConfig([creds.server]), meet) as (port, _):
        results = []

        def client():
            with engine.connect("localhost", port, ClientConfig(trust=creds.trust),
                                timeout=TIMEOUT) as tls:
                results.append(tls.recv_exactly(3))

        threads = [threading.Thread(target=client) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(TIMEOUT)
    assert results == [b"met", b"met"]


def test_serve_returns_after_max_connections(creds):
    ready = threading.Event()
    address = []
    counted = []

    def on_ready(bound):
        address.append(bound)
        ready.set()

    thread = threading.Thread(
        target=lambda: counted.append(engine.serve(
            "127.0.0.1", 0, ServerConfig([creds.server]), echo, ready=on_ready,
            max_connections=2)), daemon=True)
    thread.start()
    assert ready.wait(TIMEOUT)
    for _ in range(2):
        with engine.connect("localhost", address[0][1], ClientConfig(trust=creds.trust),
                            timeout=TIMEOUT) as tls:
            tls.sendall(b"a")
            assert tls.recv(1) == b"a"
    thread.join(TIMEOUT)
    assert counted == [2]


def test_a_failing_handler_does_not_stop_the_server(creds):
    calls = []

    def flaky(tls):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("handler bug")
        echo(tls)

    with running(ServerConfig([creds.server]), flaky) as (port, errors):
        with engine.connect("localhost", port, ClientConfig(trust=creds.trust),
                            timeout=TIMEOUT) as tls:
            assert tls.recv(10) == b""  # the server closed this one after the handler raised
        with engine.connect("localhost", port, ClientConfig(trust=creds.trust),
                            timeout=TIMEOUT) as tls:
            tls.sendall(b"still up")
            assert tls.recv_exactly(8) == b"still up"
    assert isinstance(errors[0], RuntimeError)


def test_stop_ends_open_connections_with_close_notify(creds):
    entered = threading.Event()

    def hold(tls):
        entered.set()
        echo(tls)

    server = Server("127.0.0.1", 0, ServerConfig([creds.server]), hold)
    stop = threading.Event()
    thread = threading.Thread(target=server.serve_forever, kwargs={"stop": stop}, daemon=True)
    thread.start()
    with engine.connect("localhost", server.port, ClientConfig(trust=creds.trust),
                        timeout=TIMEOUT) as tls:
        assert entered.wait(TIMEOUT)
        stop.set()
        assert tls.recv(10) == b""
    thread.join(TIMEOUT)
    assert not thread.is_alive()


def _first_reply(port: int, payload: bytes, timeout: float) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as plain:
        plain.sendall(payload)
        reply = b""
        while len(reply) < 7:
            data = plain.recv(100)
            if not data:
                break
            reply += data
    return reply


def test_server_answers_a_record_of_unknown_type_with_unexpected_message(creds):
    with running(ServerConfig([creds.server])) as (port, errors):
        reply = _first_reply(port, b"\x47\x45\x54\x00\x05hello", TIMEOUT)
        wait_for(lambda: errors)
    # One plaintext alert record: type 21, level fatal (2), unexpected_message (10).
    assert reply == b"\x15\x03\x03\x00\x02\x02\x0a"
    assert errors[0].alert.name == "unexpected_message"


def test_server_answers_a_plain_http_request_with_an_alert_at_once(creds):
    # "GET / HTTP/1.1" reads as a record header of an unknown type announcing 8239 bytes: the
    # header alone is enough to refuse it (RFC 8446 section 5), without waiting for the body.
    with running(ServerConfig([creds.server]), handshake_timeout=5.0) as (port, errors):
        reply = _first_reply(port, b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n", 1.0)
    assert reply == b"\x15\x03\x03\x00\x02\x02\x0a"  # fatal unexpected_message


def test_serve_sets_a_ready_event(creds):
    ready = threading.Event()
    stop = threading.Event()
    thread = threading.Thread(target=engine.serve,
                              args=("127.0.0.1", 0, ServerConfig([creds.server]), echo),
                              kwargs={"ready": ready, "stop": stop}, daemon=True)
    thread.start()
    assert ready.wait(TIMEOUT)
    stop.set()
    thread.join(TIMEOUT)
    assert not thread.is_alive()


def test_one_thread_sends_while_another_receives_without_deadlock(creds):
    """A full-duplex stream larger than the socket buffers: the writer must not block the reader
    (an echo server stops reading while its own writes are blocked)."""
    payload = bytes(range(256)) * 65536  # 16 MiB
    received = bytearray()
    with running(ServerConfig([creds.server])) as (port, _):
        with engine.connect("localhost", port, ClientConfig(trust=creds.trust),
                            timeout=TIMEOUT) as tls:
            def read_all():
                while len(received) < len(payload):
                    data = tls.recv(65536)
                    if not data:
                        return
                    received.extend(data)

            reader = threading.Thread(target=read_all, daemon=True)
            reader.start()
            for start in range(0, len(payload), 1 << 20):
                tls.sendall(payload[start:start + (1 << 20)])
            reader.join(TIMEOUT)
            assert not reader.is_alive(), "deadlock: %d of %d bytes back" % (
                len(received), len(payload))
    assert bytes(received) == payload


def test_server_handshakes_with_a_client_whose_bytes_arrive_one_at_a_time(creds):
    from engine.tls import ApplicationData, ClientConnection

    with running(ServerConfig([creds.server])) as (port, _):
        with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            client = ClientConnection(ClientConfig(trust=creds.trust), server_name="localhost")

            def dribble():
                for byte in client.data_to_send():
                    sock.sendall(bytes((byte,)))

            dribble()
            received = bytearray()
            sent = False
            for _ in range(100):  # bounded: a handful of reads is enough
                if client.handshake_complete and not sent:
                    client.send_data(b"slowly")
                    dribble()
                    sent = True
                if len(received) >= 6:
                    break
                for event in client.receive_data(sock.recv(65536)):
                    if isinstance(event, ApplicationData):
                        received += event.data
                dribble()
    assert bytes(received) == b"slowly"


def test_serve_handles_twenty_clients_at_once(creds):
    results = {}

    def client(index):
        with engine.connect("localhost", port, ClientConfig(trust=creds.trust),
                            timeout=TIMEOUT) as tls:
            message = b"client %02d " % index * 500
            tls.sendall(message)
            results[index] = tls.recv_exactly(len(message)) == message

    with running(ServerConfig([creds.server])) as (port, errors):
        threads = [threading.Thread(target=client, args=(i,)) for i in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(TIMEOUT)
    assert results == {i: True for i in range(20)}
    assert errors == []


def test_a_client_with_no_trust_anchor_anywhere_is_refused_before_connecting(monkeypatch):
    from engine.errors import TrustStoreError
    from engine.pki import system_trust

    nowhere = system_trust.Locations(("/nonexistent/ca.pem",), ("/nonexistent/certs",),
                                     False, False)
    monkeypatch.setattr(system_trust, "locations", lambda: nowhere)
    monkeypatch.setattr(system_trust, "certifi_bundle", lambda: None)
    with pytest.raises(TrustStoreError, match="no system CA certificates"):
        ClientConfig()


def test_server_refusal_after_the_client_finished_surfaces_on_recv(creds):
    config = ServerConfig([creds.server], trust=creds.trust, verify_client="require")
    with running(config) as (port, errors):
        # TLS 1.3: the client is done before the server has seen its (empty) certificate.
        with engine.connect("localhost", port, ClientConfig(trust=creds.trust),
                            timeout=TIMEOUT) as tls:
            with pytest.raises(PeerAlertError) as caught:
                tls.recv(100)
            assert caught.value.description.name == "certificate_required"
            assert tls.closed
            assert tls.recv(100) == b""
        wait_for(lambda: errors)
    assert errors[0].alert.name == "certificate_required"


@pytest.mark.parametrize("mode, buffering", [("r", 0), ("rx", None)])
def test_a_refused_makefile_leaves_close_to_close_the_socket(creds, mode, buffering):
    with running(ServerConfig([creds.server])) as (port, _):
        tls = engine.connect("localhost", port, ClientConfig(trust=creds.trust), timeout=TIMEOUT)
        with pytest.raises(ValueError):
            tls.makefile(mode, buffering)
        tls.close()  # no file was made, so none keeps the connection open
        assert tls.fileno() == -1


def test_makefile_files_keep_the_connection_open_until_the_last_is_closed(creds):
    with running(ServerConfig([creds.server])) as (port, _):
        tls = engine.connect("localhost", port, ClientConfig(trust=creds.trust), timeout=TIMEOUT)
        reader, raw = tls.makefile("rb"), tls.makefile("wb", buffering=0)
        assert (reader.mode, raw.mode) == ("rb", "wb")
        tls.close()
        assert raw.write(b"ping") == 4
        assert reader.read(4) == b"ping"
        raw.close()
        assert tls.fileno() != -1
        reader.close()
        assert tls.fileno() == -1


def test_writes_from_several_threads_all_arrive_whole_and_in_each_threads_order(creds):
    """Threads share one writer at a time (the outbox): every write's records reach the peer
    once, none split by another thread's, each thread's in the order it wrote them."""
    threads, writes, size = 4, 300, 700
    received = bytearray()

    def collect(tls):
        while data := tls.recv(65536):
            received.extend(data)

    def message(writer: int, number: int) -> bytes:
        return (b"%d:%05d|" % (writer, number)).ljust(size, b"%c" % (65 + writer))

    with running(ServerConfig([creds.server]), collect) as (port, _):
        tls = engine.connect("localhost", port, ClientConfig(trust=creds.trust), timeout=TIMEOUT)

        def write(writer: int) -> None:
            for number in range(writes):
                tls.sendall(message(writer, number))

        workers = [threading.Thread(target=write, args=(w,)) for w in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(TIMEOUT)
        # all read before the close: a socket closed with the server's tickets unread in it is
        # reset by the kernel, which would destroy writes the server has not read yet
        wait_for(lambda: len(received) >= threads * writes * size)
        tls.close()
    messages = [bytes(received[at:at + size]) for at in range(0, len(received), size)]
    assert len(messages) == threads * writes
    for writer in range(threads):
        assert [m for m in messages if m.startswith(b"%d:" % writer)] == \
            [message(writer, number) for number in range(writes)]
