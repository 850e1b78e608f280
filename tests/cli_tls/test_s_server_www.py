"""``engine s_server --www``: HTTP/1.x read and written by h11, checked here through the page
handler on an in-memory connection and end to end with Python's ssl and http.client."""

from __future__ import annotations

import http.client
import ssl
import types

import h11
import pytest

from engine.cli.s_server import serve_www

CRLF = b"\r\n"


class Connection:
    """What serve_www uses of a TLSSocket: recv in the chunks given, sendall, the handshake."""

    def __init__(self, *chunks: bytes):
        self.chunks = list(chunks)
        self.sent = b""
        self.handshake = types.SimpleNamespace(
            cipher_suite="TLS_AES_128_GCM_SHA256", group="x25519",
            signature_scheme="ecdsa_secp256r1_sha256", alpn_protocol=None,
            server_name="localhost", resumed=False)
        self.peer_certificate = None

    def recv(self, size: int) -> bytes:
        return self.chunks.pop(0) if self.chunks else b""

    def sendall(self, data: bytes) -> None:
        self.sent += data


def responses(wire: bytes, methods) -> list[tuple[h11.Response, bytes]]:
    """The responses in ``wire`` (for requests of ``methods``, in order), parsed by h11."""
    client = h11.Connection(h11.CLIENT)
    out = []
    client.receive_data(wire)
    client.receive_data(b"")
    for method in methods:
        client.send(h11.Request(method=method, target="/", headers=[("Host", "localhost")]))
        client.send(h11.EndOfMessage())
        response, body = None, b""
        while True:
            event = client.next_event()
            if isinstance(event, h11.Response):
                response = event
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                break
        out.append((response, body))
        if client.our_state is h11.MUST_CLOSE or client.their_state is h11.MUST_CLOSE:
            break
        client.start_next_cycle()
    return out


def request(method: str = "GET", *headers: str, version: str = "1.1", body: bytes = b"") -> bytes:
    lines = ["%s / HTTP/%s" % (method, version), "Host: localhost", *headers]
    return CRLF.join(line.encode() for line in lines) + CRLF + CRLF + body


def header(response: h11.Response, name: bytes) -> bytes | None:
    return dict(response.headers).get(name)


def test_pipelined_requests_split_anywhere_each_get_the_page():
    wire = request() + request("HEAD") + request()
    conn = Connection(wire[:7], wire[7:40], wire[40:])
    serve_www(conn)
    answers = responses(conn.sent, ["GET", "HEAD", "GET"])
    assert [response.status_code for response, _ in answers] == [200, 200, 200]
    (first, page), (head, nothing), (_, again) = answers
    assert b"TLSv1.3" in page and b"TLS_AES_128_GCM_SHA256" in page and page == again
    assert header(first, b"content-type") == b"text/html; charset=utf-8"
    assert nothing == b"" and header(head, b"content-length") == str(len(page)).encode()


def test_a_request_body_is_read_past():
    conn = Connection(request("GET", "Content-Length: 5", body=b"hello") + request())
    serve_www(conn)
    assert [r.status_code for r, _ in responses(conn.sent, ["GET", "GET"])] == [200, 200]


@pytest.mark.parametrize("wire", [request("GET", "Connection: close") + request(),
                                  request(version="1.0") + request()])
def test_connection_close_and_http_1_0_get_one_answer_and_the_end(wire):
    conn = Connection(wire)
    serve_www(conn)
    answers = responses(conn.sent, ["GET", "GET"])
    assert len(answers) == 1 and answers[0][0].status_code == 200
    assert conn.chunks == []  # nothing more was read after the answer


@pytest.mark.parametrize("wire, status", [
    (request("POST", "Content-Length: 2", body=b"{}"), 405),
    (b"GET /\x00 HTTP/1.1\r\n\r\n", 400),
    (b"NOT HTTP AT ALL\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Long: " + b"a" * 40000 + CRLF + CRLF, 431),
])
def test_a_request_that_is_refused_gets_its_status_and_the_connection_closes(wire, status):
    conn = Connection(*[wire[at:at + 8192] for at in range(0, len(wire), 8192)], request())
    serve_www(conn)
    answers = responses(conn.sent, ["GET"])
    assert [r.status_code for r, _ in answers] == [status]
    assert header(answers[0][0], b"connection") == b"close"


def test_a_client_that_leaves_mid_request_gets_no_answer():
    conn = Connection(b"GET / HTTP/1.1\r\nHo")
    serve_www(conn)
    assert conn.sent == b""


def test_http_client_over_ssl_fetches_the_page_and_its_head(files, s_server):
    server = s_server("--cert", files.cert, "--key", files.key, "--www")
    context = ssl.create_default_context(cafile=files.ca)
    connection = http.client.HTTPSConnection("localhost", server.port, context=context,
                                              timeout=10)
    try:
        connection.request("HEAD", "/")
        head = connection.getresponse()
        assert head.status == 200 and head.read() == b""
        connection.request("POST", "/", body=b"x")
        refused = connection.getresponse()
        assert refused.status == 405 and refused.getheader("Connection") == "close"
    finally:
        connection.close()
