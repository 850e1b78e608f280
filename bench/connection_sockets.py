"""Writes through blocking TLS sockets, the adapter most programs use: engine's TLSSocket
(engine.blocking) against ssl.SSLSocket, and rtls's when installed, over a connected socket
pair in this process.

Each contender's client and server complete their handshake (the server in a thread), then
each write is ``sendall`` on the client and ``recv_into`` on the server until the whole write
has arrived, both on this thread: the sockets' own per-call work, the kernel's copies and the
record layer, as a program that talks over a socket pays them. Used by bench_connection.py
(``--sockets``), which interleaves the contenders and reports medians of per-round ratios.
"""

from __future__ import annotations

import os
import socket
import ssl
import threading

from tls_setting import Setting, rtls

from engine.blocking import TLSSocket
from engine.tls import ClientConnection, ServerConnection

TIMEOUT = 20


def _connected_pair(make_client, make_server):
    """(client, server) over a socket pair, each made (and its handshake run) by the given
    function; the server's in a thread, as the two sides wait for each other. A first byte
    from the client ends the server's handshake on every stack (rtls's client sends its
    Finished with its first write)."""
    client_sock, server_sock = socket.socketpair()
    made: dict = {}

    def serve() -> None:
        try:
            server = make_server(server_sock)
            if server.recv(1) != b"!":
                raise RuntimeError("the first byte did not arrive")
            made["server"] = server
        except BaseException as exc:  # reported below, on the benchmark's thread
            made["error"] = exc

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    client = make_client(client_sock)
    client.sendall(b"!")
    thread.join(TIMEOUT)
    if "server" not in made:
        raise RuntimeError("the server side did not complete its handshake: %r"
                           % made.get("error"))
    return client, made["server"]


def engine_pair(setting: Setting):
    def client(sock):
        config = setting.client_config
        tls = TLSSocket(sock, ClientConnection(config, "localhost"), server_hostname="localhost",
                        config=config)
        tls.do_handshake()
        return tls

    def server(sock):
        config = setting.server_config
        tls = TLSSocket(sock, ServerConnection(config), config=config)
        tls.do_handshake()
        return tls

    return _connected_pair(client, server)


def sslsocket_pair(setting: Setting, module):
    client_context, server_context = setting.contexts(module.__name__)
    return _connected_pair(
        lambda sock: client_context.wrap_socket(sock, server_hostname="localhost"),
        lambda sock: server_context.wrap_socket(sock, server_side=True,
                                                do_handshake_on_connect=False))


def socket_writes(pair, size: int):
    """A function doing ``count`` writes of ``size`` bytes client to server; bytes received."""
    client, server = pair
    message = os.urandom(size)
    view = memoryview(bytearray(size))
    send, receive_into = client.sendall, server.recv_into

    def run(count: int) -> int:
        received = 0
        for _ in range(count):
            send(message)
            got = 0
            while got < size:
                got += receive_into(view[got:])
            received += got
        return received

    return run


def socket_contenders(setting: Setting, size: int) -> dict:
    runs = {"engine": socket_writes(engine_pair(setting), size),
            "ssl": socket_writes(sslsocket_pair(setting, ssl), size)}
    if rtls is not None:
        runs["rtls"] = socket_writes(sslsocket_pair(setting, rtls), size)
    return runs
