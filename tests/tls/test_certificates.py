"""Certificate checks on both sides: mutual TLS and the refusals each side sees."""

from __future__ import annotations

import pytest

from engine.errors import (
    AlertDescription, BadCertificateError, CertificateExpiredError, CertificateRequiredError,
    CertificateRevokedError, HandshakeFailureError, PeerAlertError, UnknownCaError,
)
from engine.tls import ApplicationData, ClientConnection, HandshakeComplete, ServerConnection
from tests._support.pairs import (
    client_config, connected_pair, run_to_failure, server_config, transfer,
)


def completed(events) -> HandshakeComplete:
    return next(e for e in events if isinstance(e, HandshakeComplete))


def pair(pki, client_options=None, server_options=None):
    return (ClientConnection(client_config(pki, **(client_options or {}))),
            ServerConnection(server_config(pki, **(server_options or {}))))


# --- mutual TLS ----------------------------------------------------------------------------


def test_required_client_certificate_is_checked_and_reported(pki):
    client, server, client_events, server_events = connected_pair(
        pki, {"certificate": pki.client}, {"verify_client": "require", "trust": pki.trust}
    )
    completed(client_events)
    assert completed(server_events).peer_chain[0] == pki.client.certificate
    client.send_data(b"hi")
    assert transfer(client, server) == [ApplicationData(b"hi")]


def test_requested_client_certificate_may_be_absent(pki):
    _, _, _, server_events = connected_pair(
        pki, None, {"verify_client": "request", "trust": pki.trust}
    )
    assert completed(server_events).peer_chain == ()


def test_requested_client_certificate_is_checked_when_present(pki):
    _, _, _, server_events = connected_pair(
        pki, {"certificate": pki.client}, {"verify_client": "request", "trust": pki.trust}
    )
    assert completed(server_events).peer_chain[0] == pki.client.certificate


def test_no_certificate_request_when_verify_client_is_none(pki):
    _, _, _, server_events = connected_pair(pki, {"certificate": pki.client})
    assert completed(server_events).peer_chain == ()


def test_missing_required_client_certificate(pki):
    client, server = pair(pki, None, {"verify_client": "require", "trust": pki.trust})
    errors = run_to_failure(client, server)
    assert isinstance(errors["server"], CertificateRequiredError)
    assert isinstance(errors["client"], PeerAlertError)
    assert errors["client"].description == AlertDescription.certificate_required


@pytest.mark.parametrize("client_cert,crls,error,alert,reason", [
    ("revoked_client", True, CertificateRevokedError, "certificate_revoked", "revoked"),
    ("untrusted_client", False, UnknownCaError, "unknown_ca", "untrusted"),
])
def test_refused_client_certificate(pki, client_cert, crls, error, alert, reason):
    server_options = {"verify_client": "require", "trust": pki.trust}
    if crls:
        server_options["crls"] = pki.crls
    client, server = pair(pki, {"certificate": getattr(pki, client_cert)}, server_options)
    errors = run_to_failure(client, server)
    assert isinstance(errors["server"], error)
    assert errors["server"].reason == reason
    assert reason in str(errors["server"])
    assert errors["client"].description == AlertDescription[alert]


def test_client_without_crls_accepts_a_revoked_server(pki):
    _, _, client_events, _ = connected_pair(pki, None, {"certificates": [pki.revoked_server]})
    completed(client_events)


# --- the client's refusals of the server --------------------------------------------------


@pytest.mark.parametrize("server_cert,client_options,error,alert,reason", [
    ("other_name", {}, BadCertificateError, "bad_certificate", "name_mismatch"),
    ("untrusted_server", {}, UnknownCaError, "unknown_ca", "untrusted"),
    ("revoked_server", {"crls": "crls"}, CertificateRevokedError, "certificate_revoked", "revoked"),
    ("expired_server", {}, CertificateExpiredError, "certificate_expired", "expired"),
])
def test_refused_server_certificate(pki, server_cert, client_options, error, alert, reason):
    options = {key: getattr(pki, value) for key, value in client_options.items()}
    client, server = pair(pki, options, {"certificates": [getattr(pki, server_cert)]})
    errors = run_to_failure(client, server)
    assert isinstance(errors["client"], error)
    assert errors["client"].reason == reason
    assert reason in str(errors["client"])
    assert isinstance(errors["server"], PeerAlertError)
    assert errors["server"].description == AlertDescription[alert]
    assert client.closed and server.closed


def test_no_certificate_for_the_clients_signature_schemes(pki):
    client, server = pair(pki, {"signature_schemes": ("ed25519",)})
    errors = run_to_failure(client, server)
    assert isinstance(errors["server"], HandshakeFailureError)
    assert errors["client"].description == AlertDescription.handshake_failure


@pytest.mark.parametrize("key_type", ["ed25519", "rsa2048", "p384"])
def test_client_certificates_of_other_key_types(pki, key_type):
    keystore = pki.issuer.issue_client("bob-" + key_type, key_type=key_type).keystore()
    client, server, _, server_events = connected_pair(
        pki, {"certificate": keystore}, {"verify_client": "require", "trust": pki.trust}
    )
    assert completed(server_events).peer_chain[0] == keystore.certificate
