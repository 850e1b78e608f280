"""A server that accepts no 0-RTT data skips what a client sends of it (RFC 8446 4.2.10)."""

from __future__ import annotations

import os

import pytest

from engine.errors import BadRecordMacError
from engine.tls import ClientConnection, ServerConnection, codec
from engine.tls.constants import ExtensionType
from engine.tls.record_layer import plaintext_records
from engine.tls.server import EARLY_DATA_SKIP
from tls_pairs import client_config, handshake, server_config


def fake_early_data(count: int, size: int = 200) -> bytes:
    """Protected records under keys the server cannot have (0-RTT keys of another server)."""
    return b"".join(b"\x17\x03\x03" + size.to_bytes(2, "big") + os.urandom(size)
                    for _ in range(count))


def client_offering_early_data(pki):
    """A client whose ClientHello carries early_data (as if it held a ticket)."""
    client = ClientConnection(client_config(pki))
    client.data_to_send()
    client._hello.other_extensions.append((ExtensionType.early_data, b""))
    client._client_hello = codec.build_client_hello(client._hello)
    return client, plaintext_records(22, client._client_hello, b"\x03\x01")


def test_early_data_is_skipped_and_the_handshake_completes(pki):
    client, hello = client_offering_early_data(pki)
    server = ServerConnection(server_config(pki))
    assert server.receive_data(hello + fake_early_data(5)) == []
    handshake(client, server)
    assert client.handshake_complete and server.handshake_complete


def test_early_data_is_skipped_before_a_second_client_hello(pki):
    client, hello = client_offering_early_data(pki)
    server = ServerConnection(server_config(pki, groups=("secp256r1",)))
    assert server.receive_data(hello + fake_early_data(3)) == []  # HelloRetryRequest
    client.receive_data(server.data_to_send())
    handshake(client, server)
    assert client.handshake_complete and server.handshake_complete


def test_early_data_over_the_budget_is_bad_record_mac(pki):
    _, hello = client_offering_early_data(pki)
    server = ServerConnection(server_config(pki))
    with pytest.raises(BadRecordMacError):
        server.receive_data(hello + fake_early_data(EARLY_DATA_SKIP // 16000 + 2, 16000))


def test_undecryptable_records_without_early_data_are_bad_record_mac(pki):
    client = ClientConnection(client_config(pki))
    server = ServerConnection(server_config(pki))
    with pytest.raises(BadRecordMacError):
        server.receive_data(client.data_to_send() + fake_early_data(1))
