"""The engine as a client of ``openssl s_server -tls1_3``.

One s_server per parameter set; ``-rev`` servers answer each line with the line reversed, so
application data is checked both ways byte for byte.
"""

from __future__ import annotations

import pytest

import engine
from engine.errors import PeerAlertError, ProtocolError
from engine.records import SUITES
from engine.tls import ClientConfig
from tests._support.certificates import KEY_TYPES

GROUPS = {"x25519": "X25519", "secp256r1": "P-256", "secp384r1": "P-384"}
SCHEME = {"p256": "ecdsa_secp256r1_sha256", "p384": "ecdsa_secp384r1_sha384",
          "ed25519": "ed25519", "rsa2048": "rsa_pss_rsae_sha256"}
TIMEOUT = 10.0


def config(pki, **options) -> ClientConfig:
    return ClientConfig(trust=pki.trust, crls=pki.crls, **options)


def round_trip(tls, line: bytes) -> None:
    """Send one line to a -rev server and check the reversed line comes back."""
    tls.sendall(line + b"\n")
    assert tls.recv_exactly(len(line) + 1) == line[::-1] + b"\n"


def alert_pattern(name: str) -> str:
    """How openssl reports a TLS alert it received: its text or its number."""
    from engine.errors import AlertDescription

    return r"alert %s|alert number %d" % (name.replace("_", " "), AlertDescription[name].value)


@pytest.mark.parametrize("suite", SUITES)
def test_engine_client_agrees_each_cipher_suite_with_openssl(pki, openssl_server, suite):
    server = openssl_server(pki.servers["p256"], "-rev", "-ciphersuites", suite)
    with engine.connect("localhost", server.port, config(pki), timeout=TIMEOUT) as tls:
        assert tls.cipher_suite == suite
        round_trip(tls, b"cipher suite %s" % suite.encode())


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_engine_client_agrees_each_group_with_openssl(pki, openssl_server, group):
    server = openssl_server(pki.servers["p256"], "-rev", "-groups", GROUPS[group])
    options = {"key_share_groups": (group,)}
    with engine.connect("localhost", server.port, config(pki, **options), timeout=TIMEOUT) as tls:
        assert tls.group == group
        round_trip(tls, b"group " + group.encode())


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_engine_client_verifies_each_server_key_type_from_openssl(pki, openssl_server, key_type):
    identity = pki.servers[key_type]
    server = openssl_server(identity, "-rev")
    with engine.connect("localhost", server.port, config(pki), timeout=TIMEOUT) as tls:
        assert tls.peer_chain[0] == identity.certificate
        assert tls.signature_scheme == SCHEME[key_type]
        round_trip(tls, b"key type " + key_type.encode())


def test_engine_client_retries_hello_when_openssl_wants_another_group(pki, openssl_server):
    server = openssl_server(pki.servers["p256"], "-rev", "-groups", "P-256", "-msg")
    options = {"key_share_groups": ("x25519",)}
    with engine.connect("localhost", server.port, config(pki, **options), timeout=TIMEOUT) as tls:
        assert tls.group == "secp256r1"
        round_trip(tls, b"after a HelloRetryRequest")
    # Two ClientHellos reached openssl: the first and the one after HelloRetryRequest.
    server.wait_count("ClientHello", 2)  # its output comes through a reader thread
    assert server.output.count("ClientHello") == 2


def test_engine_client_negotiates_alpn_with_openssl(pki, openssl_server):
    server = openssl_server(pki.servers["p256"], "-rev", "-alpn", "h2,http/1.1")
    options = {"alpn_protocols": ("http/1.1",)}
    with engine.connect("localhost", server.port, config(pki, **options), timeout=TIMEOUT) as tls:
        assert tls.alpn_protocol == "http/1.1"
        round_trip(tls, b"alpn")


def test_engine_client_handles_openssl_session_tickets_and_large_lines(pki, openssl_server):
    server = openssl_server(pki.servers["p256"], "-rev")  # sends two NewSessionTickets
    with engine.connect("localhost", server.port, config(pki), timeout=TIMEOUT) as tls:
        for size in (1, 1000, 8000):
            round_trip(tls, bytes(range(97, 123)) * (size // 26 + 1))


def test_engine_client_presents_its_certificate_to_openssl(pki, openssl_server):
    server = openssl_server(pki.servers["p256"], "-rev", "-Verify", "1", "-CAfile", pki.ca_path,
                            "-verify_return_error")
    options = {"certificate": pki.client.keystore}
    with engine.connect("localhost", server.port, config(pki, **options), timeout=TIMEOUT) as tls:
        round_trip(tls, b"mutual")
    server.wait_for(r"CN ?= ?alice")


def test_openssl_refuses_engine_client_without_required_certificate(pki, openssl_server):
    server = openssl_server(pki.servers["p256"], "-rev", "-Verify", "1", "-CAfile", pki.ca_path)
    with pytest.raises(PeerAlertError) as caught:
        # TLS 1.3 clients finish first: the refusal arrives with the first read.
        with engine.connect("localhost", server.port, config(pki), timeout=TIMEOUT) as tls:
            tls.sendall(b"hello\n")
            tls.recv(100)
    assert caught.value.description.name == "certificate_required"


def test_openssl_server_key_update_is_followed_by_engine_client(pki, openssl_server):
    server = openssl_server(pki.servers["p256"], "-msg")
    with engine.connect("localhost", server.port, config(pki), timeout=TIMEOUT) as tls:
        tls.sendall(b"before\n")
        mark = server.wait_for(r"\nbefore\n").end()
        server.write(b"K\n")  # KeyUpdate, update_requested
        # openssl takes a command and what follows it in one read as the command alone.
        server.wait_for(r">>> TLS 1.3, Handshake \[length 0005\], KeyUpdate", since=mark)
        server.write(b"pong\n")
        assert tls.recv_exactly(5) == b"pong\n"
        tls.sendall(b"after\n")  # under our own updated keys, which openssl must read
        server.wait_for(r"\nafter\n", since=mark)
    # openssl sent update_requested (01); our answer, update_not_requested (00), reached it.
    server.wait_for(r">>> TLS 1.3, Handshake \[length 0005\], KeyUpdate\s+18 00 00 01 01")
    server.wait_for(r"<<< TLS 1.3, Handshake \[length 0005\], KeyUpdate\s+18 00 00 01 00")


@pytest.mark.parametrize("request_peer", [False, True], ids=["k", "K"])
def test_engine_client_key_update_is_followed_by_openssl(pki, openssl_server, request_peer):
    server = openssl_server(pki.servers["p256"], "-rev", "-msg")
    with engine.connect("localhost", server.port, config(pki), timeout=TIMEOUT) as tls:
        round_trip(tls, b"before update")
        tls.key_update(request_peer=request_peer)
        round_trip(tls, b"after update")
        tls.key_update(request_peer=request_peer)
        round_trip(tls, b"after second update")
    server.wait_count("<<< TLS 1.3, Handshake [length 0005], KeyUpdate", 2)
    if request_peer:  # openssl answered each with its own KeyUpdate, which we followed
        server.wait_count(">>> TLS 1.3, Handshake [length 0005], KeyUpdate", 2)
    else:
        assert ">>> TLS 1.3, Handshake [length 0005], KeyUpdate" not in server.output


REFUSALS = {
    # case: (server identity attribute, client options, alert the engine sends, verify reason)
    "untrusted_ca": ("stranger", {}, "unknown_ca", "untrusted"),
    "wrong_name": ("servers", {"server_name": "wrong.example"}, None, "name_mismatch"),
    "revoked": ("revoked", {}, "certificate_revoked", "revoked"),
    "expired": ("expired", {}, "certificate_expired", "expired"),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_engine_client_refuses_bad_openssl_server_certificate(pki, openssl_server, case):
    attribute, options, alert, reason = REFUSALS[case]
    identity = getattr(pki, attribute)
    if attribute == "servers":
        identity = identity["p256"]
    server = openssl_server(identity, "-rev")
    server_name = options.pop("server_name", None)
    with pytest.raises(ProtocolError) as caught:
        engine.connect("127.0.0.1", server.port, config(pki, **options),
                       server_name=server_name or "localhost", timeout=TIMEOUT)
    error = caught.value
    assert error.reason == reason
    if alert is not None:
        assert error.alert.name == alert
    # openssl saw the same alert on the wire.
    server.wait_for(alert_pattern(error.alert.name))


def test_engine_client_reassembles_handshake_messages_split_across_small_records(
        pki, openssl_server):
    # RSA certificate chain in 512-byte records: Certificate spans several of them.
    server = openssl_server(pki.servers["rsa2048"], "-rev", "-max_send_frag", "512")
    with engine.connect("localhost", server.port, config(pki), timeout=TIMEOUT) as tls:
        assert tls.signature_scheme == "rsa_pss_rsae_sha256"
        round_trip(tls, b"z" * 3000)


def test_engine_client_reads_padded_records_from_openssl(pki, openssl_server):
    server = openssl_server(pki.servers["p256"], "-rev", "-record_padding", "256")
    with engine.connect("localhost", server.port, config(pki), timeout=TIMEOUT) as tls:
        round_trip(tls, b"padded")


def test_engine_client_without_certificate_passes_when_openssl_only_requests_one(
        pki, openssl_server):
    server = openssl_server(pki.servers["p256"], "-rev", "-verify", "1", "-CAfile", pki.ca_path)
    with engine.connect("localhost", server.port, config(pki), timeout=TIMEOUT) as tls:
        round_trip(tls, b"anonymous client")


def test_engine_client_echoes_the_cookie_of_a_stateless_openssl_server(pki, openssl_server):
    # -stateless: openssl keeps no state across a HelloRetryRequest; it puts it in a cookie
    # (RFC 8446 section 4.2.2) that the second ClientHello must carry back.
    # The x25519 key share is not acceptable (-groups P-256), so the retry is forced.
    server = openssl_server(pki.servers["p256"], "-rev", "-stateless", "-groups", "P-256",
                            "-msg")
    with engine.connect("localhost", server.port, config(pki), timeout=TIMEOUT) as tls:
        assert tls.group == "secp256r1"
        round_trip(tls, b"cookie returned")
    server.wait_count("ClientHello", 2)  # its output comes through a reader thread
    assert server.output.count("ClientHello") == 2


@pytest.mark.parametrize("middlebox_compat", [True, False])
def test_engine_client_with_and_without_middlebox_compatibility(pki, openssl_server,
                                                                middlebox_compat):
    server = openssl_server(pki.servers["p256"], "-rev", "-no_middlebox")
    options = {"middlebox_compat": middlebox_compat}
    with engine.connect("localhost", server.port, config(pki, **options),
                        timeout=TIMEOUT) as tls:
        round_trip(tls, b"compat %r" % middlebox_compat)


def test_engine_client_sees_handshake_failure_from_openssl_without_a_common_suite(
        pki, openssl_server):
    server = openssl_server(pki.servers["p256"], "-rev", "-ciphersuites",
                            "TLS_AES_128_CCM_SHA256")
    with pytest.raises(PeerAlertError) as caught:
        engine.connect("localhost", server.port, config(pki), timeout=TIMEOUT)
    assert caught.value.description.name == "handshake_failure"

