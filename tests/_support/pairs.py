"""An in-memory client-server loop for the TLS tests."""

from __future__ import annotations

from engine.records import Opener, Sealer
from engine.tls import ClientConfig, ClientConnection, ServerConfig, ServerConnection
from engine.tls.key_schedule import traffic_key
from engine.tls.states import ClientState, ServerState


def client_config(pki, **options) -> ClientConfig:
    options.setdefault("trust", pki.trust)
    options.setdefault("server_name", "localhost")
    return ClientConfig(**options)


def server_config(pki, certificates=None, **options) -> ServerConfig:
    if certificates is None:
        certificates = [pki.servers["p256"]]
    return ServerConfig(certificates=certificates, **options)


def transfer(sender, receiver) -> list:
    """Move what ``sender`` queued into ``receiver``; return the receiver's events."""
    data = sender.data_to_send()
    return receiver.receive_data(data) if data else []


def handshake(client, server, rounds: int = 4):
    """Run the flights back and forth; return (client events, server events)."""
    client_events, server_events = [], []
    for _ in range(rounds):
        server_events += transfer(client, server)
        client_events += transfer(server, client)
    return client_events, server_events


def connected_pair(pki, client_options=None, server_options=None):
    client = ClientConnection(client_config(pki, **(client_options or {})))
    server = ServerConnection(server_config(pki, **(server_options or {})))
    client_events, server_events = handshake(client, server)
    return client, server, client_events, server_events


def sealed(conn, data: bytes, content_type: int = 23, max_fragment: int = 2**14,
           pad_to: int = 0) -> bytes:
    """Records of ``data`` written through ``conn``'s own record layer, as its next records (so
    its later records follow them), returned instead of queued."""
    assert not conn._records.to_send, "take what the connection queued first"
    if conn._write_pending is not None:
        conn._install_write_key()
    conn._records.set_limits(max_fragment, pad_to)
    try:
        conn._records.write(content_type, data)
    finally:
        conn._records.set_limits(2**14, 0)
    return conn._records.data_to_send()


def protected(sender, inner: bytes) -> bytes:
    """One record of ``inner`` (TLSInnerPlaintext, section 5.2) under the sender's write key,
    built here so that inner plaintexts the record layer will not make can be sent; the
    sender's own records go on after it."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

    if sender._write_pending is not None:
        sender._install_write_key()
    key, iv = traffic_key(sender.suite, sender._write_secret)
    seq = sender._records.seq(True)
    sealed(sender, b"-")  # spent: the sender's next genuine record follows this one
    nonce = bytes(a ^ b for a, b in zip(iv, seq.to_bytes(12, "big")))
    header = b"\x17\x03\x03" + (len(inner) + 16).to_bytes(2, "big")
    aead = AESGCM(key) if "AES" in sender.suite.name else ChaCha20Poly1305(key)
    return header + aead.encrypt(nonce, inner, header)


def run_to_failure(client, server, rounds: int = 4) -> dict:
    """Run a handshake that should fail; return ``{"client": error, "server": error}``.

    An error on one side still lets its queued alert reach the other side.
    """
    from engine.errors import EngineError

    errors = {}
    for _ in range(rounds):
        for name, sender, receiver in (("server", client, server), ("client", server, client)):
            data = sender.data_to_send()
            if not data or name in errors:
                continue
            try:
                receiver.receive_data(data)
            except EngineError as exc:
                errors[name] = exc
    return errors


# --- a rogue peer: the genuine flight, opened and re-sealed -------------------------------


def records(wire: bytes):
    """Split wire bytes into (outer content type, whole record)."""
    out, pos = [], 0
    while pos < len(wire):
        length = int.from_bytes(wire[pos + 3:pos + 5], "big")
        out.append((wire[pos], wire[pos:pos + 5 + length]))
        pos += 5 + length
    return out


def messages(data: bytes):
    out, pos = [], 0
    while pos < len(data):
        length = int.from_bytes(data[pos + 1:pos + 4], "big")
        out.append(data[pos:pos + 4 + length])
        pos += 4 + length
    return out


def open_all(conn, secret: bytes, wire: bytes):
    key, iv = traffic_key(conn.suite, secret)
    opener = Opener(conn.suite.name, key, iv)
    protected = b"".join(r for t, r in records(wire) if t == 23)
    data = b""
    while protected:
        segments, used = opener.open(protected)
        data += b"".join(p for t, p in segments if t == 22)
        protected = protected[used:]
    return messages(data)


def client_in_state(pki, state):
    """A client that read the server's flight up to ``state``; and a sealer to go on with."""
    client = ClientConnection(client_config(pki, certificate=pki.client))
    server = ServerConnection(server_config(pki, verify_client="request", trust=pki.trust))
    transfer(client, server)
    wire = server.data_to_send()
    plain = b"".join(r for t, r in records(wire) if t != 23)
    client.receive_data(plain)  # ServerHello and change_cipher_spec
    flight = open_all(client, client._server_hs, wire)
    count = {ClientState.WAIT_EE: 0, ClientState.WAIT_CERT_CR: 1, ClientState.WAIT_CERT: 2,
             ClientState.WAIT_CV: 3, ClientState.WAIT_FINISHED: 4}[state]
    sealer = Sealer(client.suite.name, *traffic_key(client.suite, client._server_hs))
    if count:
        client.receive_data(sealer.seal(b"".join(flight[:count]), content_type=22))
    assert client._state is state
    return client, sealer


def server_in_state(pki, state):
    client = ClientConnection(client_config(pki, certificate=pki.client))
    server = ServerConnection(server_config(pki, verify_client="request", trust=pki.trust))
    transfer(client, server)
    transfer(server, client)
    wire = client.data_to_send()
    flight = open_all(server, server._client_hs, wire)
    count = {ServerState.WAIT_CERT: 0, ServerState.WAIT_CV: 1, ServerState.WAIT_FINISHED: 2}[state]
    sealer = Sealer(server.suite.name, *traffic_key(server.suite, server._client_hs))
    if count:
        server.receive_data(sealer.seal(b"".join(flight[:count]), content_type=22))
    assert server._state is state
    return server, sealer


