"""Engine client and engine server over real loopback sockets.

This is where X25519MLKEM768 is tested: OpenSSL 3.0 (the openssl binary and Python's ssl here)
does not know the hybrid group, so only the engine can be its peer.
"""

from __future__ import annotations

import os

import pytest

import engine
from engine.tls import ClientConfig, ServerConfig

GROUPS = ("x25519", "secp256r1", "secp384r1", "X25519MLKEM768")
TIMEOUT = 10.0


def client_config(pki, **options) -> ClientConfig:
    return ClientConfig(trust=pki.trust, crls=pki.crls, **options)


@pytest.mark.parametrize("group", GROUPS)
def test_engine_pair_agrees_each_group_over_sockets(pki, engine_server, group):
    server = engine_server(ServerConfig([pki.servers["p256"].keystore]))
    options = {"groups": (group,), "key_share_groups": (group,)}
    with engine.connect("localhost", server.port, client_config(pki, **options),
                        timeout=TIMEOUT) as tls:
        assert tls.group == group
        tls.sendall(group.encode())
        assert tls.recv_exactly(len(group)) == group.encode()
    assert server.wait_handshake().group == group


def test_engine_pair_retries_hello_for_hybrid_group(pki, engine_server):
    server = engine_server(ServerConfig([pki.servers["p256"].keystore],
                                        groups=("X25519MLKEM768",)))
    options = {"key_share_groups": ("x25519",)}
    with engine.connect("localhost", server.port, client_config(pki, **options),
                        timeout=TIMEOUT) as tls:
        assert tls.group == "X25519MLKEM768"
        tls.sendall(b"hybrid")
        assert tls.recv_exactly(6) == b"hybrid"


def test_engine_pair_mutual_tls_and_key_updates_both_ways(pki, engine_server):
    def update_on_request(tls):
        while True:
            data = tls.recv(65536)
            if not data:
                return
            if data == b"update please":
                tls.key_update(request_peer=True)
            tls.sendall(data)

    server = engine_server(ServerConfig([pki.servers["ed25519"].keystore], trust=pki.trust,
                                        verify_client="require"), update_on_request)
    options = {"certificate": pki.client.keystore}
    with engine.connect("localhost", server.port, client_config(pki, **options),
                        timeout=TIMEOUT) as tls:
        for message in (b"first", b"update please", b"after server update"):
            tls.sendall(message)
            assert tls.recv_exactly(len(message)) == message
        tls.key_update(request_peer=True)
        payload = os.urandom(100_000)
        tls.sendall(payload)
        assert tls.recv_exactly(len(payload)) == payload
    assert server.wait_handshake().peer_chain[0] == pki.client.certificate
