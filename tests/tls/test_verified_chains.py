"""Every full handshake verifies the peer's chain: nothing about a verdict is carried over.

A resumed handshake (tests/tls/test_resumption.py) sends no certificate: the session carries
the chain verified when it was made, for the ticket's lifetime, as in every TLS 1.3 stack.
"""

from __future__ import annotations

import datetime

import pytest

import engine.verify
from engine.errors import CertificateExpiredError, CertificateRevokedError, UnknownCaError
from engine.tls import ClientConnection, ServerConnection
from tests._support.pairs import client_config, handshake, run_to_failure, server_config


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
    client_cfg = client_config(pki, session_cache_size=0, **(client_options or {}))
    server_cfg = server_config(pki, **(server_options or {}))
    for _ in range(count):
        client, server = ClientConnection(client_cfg), ServerConnection(server_cfg)
        handshake(client, server)
        assert client.handshake_complete and server.handshake_complete


def test_every_handshake_verifies_the_server_chain(pki, verify_calls):
    handshakes(pki, 3)
    assert verify_calls == ["server"] * 3


def test_every_handshake_verifies_the_client_chain(pki, verify_calls):
    handshakes(pki, 2, {"certificate": pki.client}, {"verify_client": "require", "trust": pki.trust})
    assert sorted(verify_calls) == ["client", "client", "server", "server"]


def test_configurations_have_no_verdict_cache_option(pki):
    with pytest.raises(TypeError):
        client_config(pki, verify_cache=True)


def test_a_chain_accepted_before_is_refused_once_it_has_expired(pki):
    handshakes(pki, 1)
    later = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=4000)
    client = ClientConnection(client_config(pki, verify_time=later))
    failure = run_to_failure(client, ServerConnection(server_config(pki)))["client"]
    assert isinstance(failure, CertificateExpiredError)


def test_a_chain_accepted_before_is_refused_once_a_crl_revokes_it(pki):
    server_cfg = server_config(pki, certificates=[pki.revoked_server])
    handshake(ClientConnection(client_config(pki)), ServerConnection(server_cfg))
    client = ClientConnection(client_config(pki, crls=pki.crls))
    failure = run_to_failure(client, ServerConnection(server_cfg))["client"]
    assert isinstance(failure, CertificateRevokedError)


def test_refusals_repeat_for_every_handshake(pki, verify_calls):
    config = client_config(pki)
    for _ in range(2):
        client = ClientConnection(config)
        server = ServerConnection(server_config(pki, certificates=[pki.untrusted_server]))
        assert isinstance(run_to_failure(client, server)["client"], UnknownCaError)
    assert verify_calls == ["server", "server"]
