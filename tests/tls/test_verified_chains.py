"""A configuration remembers chains it verified, and only while they stay current."""

from __future__ import annotations

import pytest

import engine.verify
from engine.errors import UnknownCaError
from engine.tls import certificates
from engine.tls import ClientConnection, ServerConnection
from tls_pairs import client_config, handshake, run_to_failure, server_config


@pytest.fixture
def verify_calls(monkeypatch):
    calls = []
    real = engine.verify.verify_chains

    def counting(*args, **kwargs):
        calls.append(kwargs.get("purpose"))
        return real(*args, **kwargs)

    monkeypatch.setattr(engine.verify, "verify_chains", counting)
    return calls


def handshakes(pki, count, client_options=None, server_options=None):
    client_cfg = client_config(pki, **(client_options or {}))
    server_cfg = server_config(pki, **(server_options or {}))
    for _ in range(count):
        client, server = ClientConnection(client_cfg), ServerConnection(server_cfg)
        handshake(client, server)
        assert client.handshake_complete and server.handshake_complete


def test_a_chain_is_verified_once_per_configuration(pki, verify_calls):
    handshakes(pki, 3)
    assert verify_calls == ["server"]


def test_client_chains_are_remembered_by_the_server_config(pki, verify_calls):
    handshakes(pki, 3, {"certificate": pki.client}, {"verify_client": "require", "trust": pki.trust})
    assert sorted(verify_calls) == ["client", "server"]


def test_without_the_cache_every_handshake_verifies(pki, verify_calls):
    handshakes(pki, 3, {"verify_cache": False})
    assert verify_calls == ["server"] * 3


def test_refusals_are_not_remembered(pki, verify_calls):
    config = client_config(pki)
    for _ in range(2):
        client = ClientConnection(config)
        server = ServerConnection(server_config(pki, certificates=[pki.untrusted_server]))
        assert isinstance(run_to_failure(client, server)["client"], UnknownCaError)
    assert verify_calls == ["server", "server"]


def test_an_entry_lapses_after_its_time_to_live(pki, verify_calls, monkeypatch):
    config = client_config(pki)
    server_cfg = server_config(pki)
    handshake(ClientConnection(config), ServerConnection(server_cfg))
    now = certificates.time.time()
    monkeypatch.setattr(certificates.time, "time", lambda: now + 301)
    handshake(ClientConnection(config), ServerConnection(server_cfg))
    assert verify_calls == ["server", "server"]


def test_an_entry_lapses_when_a_certificate_of_the_path_expires(pki):
    cache = certificates.VerifiedChains(ttl=10 ** 9)
    leaf = pki.servers["p256"].certificate
    cache.remember([b"der"], "localhost", None, [leaf], (), "parsed")
    assert cache.lookup([b"der"], "localhost", None) == "parsed"
    assert cache.lookup([b"der"], "other.example", None) is None
    expires = leaf.not_valid_after_utc.timestamp()
    real_time = certificates.time.time
    try:
        certificates.time.time = lambda: expires + 1
        assert cache.lookup([b"der"], "localhost", None) is None
    finally:
        certificates.time.time = real_time


def test_an_entry_lapses_at_the_next_crl_update(pki):
    cache = certificates.VerifiedChains(ttl=10 ** 9)
    crl = pki.crls[1]
    cache.remember([b"der"], None, None, [pki.servers["p256"].certificate], [crl])
    key = ((b"der",), None, None)
    assert cache._items[key][0] == crl.next_update.timestamp()
