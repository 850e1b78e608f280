"""``openssl s_client -tls1_3`` against the engine's server (engine.blocking.Server, echo).

openssl sends what is written to its standard input and prints what comes back; lines "k" and
"K" at the start of a line make it send a KeyUpdate.
"""

from __future__ import annotations

import re

import pytest

from engine.errors import PeerAlertError, ProtocolError
from engine.records import SUITES
from engine.tls import ServerConfig
from tests._support.certificates import KEY_TYPES

GROUPS = {"x25519": "X25519", "secp256r1": "P-256", "secp384r1": "P-384"}
PEER_SIGNATURE = {"p256": "ECDSA", "p384": "ECDSA", "ed25519": "ed25519", "rsa2048": "RSA-PSS"}


def verifying(pki, *extra: str) -> list:
    return ["-CAfile", pki.ca_path, "-verify_return_error", "-servername", "localhost",
            "-verify_hostname", "localhost", *extra]


def echo_check(client, text: bytes, since: int = 0) -> int:
    """Write a line to openssl's stdin and wait for the engine's echo; the new output mark.

    The line starts with "echo " so that openssl never reads it as a command (k, K, Q, R).
    """
    text = b"echo " + text
    mark = client.mark()
    client.write(text + b"\n")
    return client.wait_for(r"\n%s\n" % text.decode(), since=max(mark - 1, since)).end()


SENT_KEY_UPDATE = r">>> TLS 1.3, Handshake \[length 0005\], KeyUpdate"


def alert_pattern(name: str) -> str:
    from engine.errors import AlertDescription

    return r"alert %s|alert number %d" % (name.replace("_", " "), AlertDescription[name].value)


@pytest.mark.parametrize("suite", SUITES)
def test_openssl_client_agrees_each_cipher_suite_with_engine_server(
        pki, engine_server, openssl_client, suite):
    server = engine_server(ServerConfig([pki.servers["p256"].keystore], cipher_suites=(suite,)))
    client = openssl_client(server.port, *verifying(pki), "-ciphersuites", ":".join(SUITES))
    client.wait_for("Cipher is %s" % suite)
    client.wait_for(r"Verify return code: 0 \(ok\)")
    echo_check(client, b"suite-" + suite.encode())
    assert server.wait_handshake().cipher_suite == suite


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_openssl_client_agrees_each_group_with_engine_server(
        pki, engine_server, openssl_client, group):
    server = engine_server(ServerConfig([pki.servers["p256"].keystore]))
    client = openssl_client(server.port, *verifying(pki), "-groups", GROUPS[group])
    client.wait_for(r"Verify return code: 0 \(ok\)")
    echo_check(client, b"group-" + group.encode())
    assert server.wait_handshake().group == group


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_openssl_client_verifies_each_engine_server_key_type(
        pki, engine_server, openssl_client, key_type):
    server = engine_server(ServerConfig([pki.servers[key_type].keystore]))
    client = openssl_client(server.port, *verifying(pki))
    client.wait_for(r"Verify return code: 0 \(ok\)")
    client.wait_for("Peer signature type: %s" % PEER_SIGNATURE[key_type])
    echo_check(client, b"keytype-" + key_type.encode())


def test_engine_server_picks_certificate_by_signature_algorithms(pki, engine_server,
                                                                 openssl_client):
    keystores = [pki.servers["rsa2048"].keystore, pki.servers["p256"].keystore]
    server = engine_server(ServerConfig(keystores))
    client = openssl_client(server.port, *verifying(pki), "-sigalgs", "ECDSA+SHA256")
    client.wait_for("Peer signature type: ECDSA")
    echo_check(client, b"picked")
    assert server.wait_handshake().signature_scheme == "ecdsa_secp256r1_sha256"


def test_engine_server_sends_hello_retry_request_to_openssl(pki, engine_server, openssl_client):
    server = engine_server(ServerConfig([pki.servers["p256"].keystore], groups=("secp384r1",)))
    # openssl sends a key share for the first group only: x25519, which the server refuses.
    client = openssl_client(server.port, *verifying(pki), "-groups", "X25519:P-384", "-msg")
    client.wait_for(r"Verify return code: 0 \(ok\)")
    echo_check(client, b"retried")
    assert server.wait_handshake().group == "secp384r1"
    assert client.output.count("ClientHello") == 2


def test_engine_server_negotiates_alpn_with_openssl(pki, engine_server, openssl_client):
    server = engine_server(ServerConfig([pki.servers["p256"].keystore],
                                        alpn_protocols=("h2", "http/1.1")))
    client = openssl_client(server.port, *verifying(pki), "-alpn", "http/1.1")
    client.wait_for("ALPN protocol: http/1.1")
    echo_check(client, b"alpn")
    assert server.wait_handshake().alpn_protocol == "http/1.1"


def test_engine_server_requires_and_verifies_openssl_client_certificate(
        pki, engine_server, openssl_client):
    server = engine_server(ServerConfig([pki.servers["p256"].keystore], trust=pki.trust,
                                        crls=pki.crls, verify_client="require"))
    client = openssl_client(server.port, *verifying(pki), *pki.client.openssl_args())
    client.wait_for(r"Verify return code: 0 \(ok\)")
    echo_check(client, b"mutual")
    handshake = server.wait_handshake()
    assert handshake.peer_chain[0] == pki.client.certificate


def test_engine_server_refuses_openssl_client_without_certificate(
        pki, engine_server, openssl_client):
    server = engine_server(ServerConfig([pki.servers["p256"].keystore], trust=pki.trust,
                                        verify_client="require"))
    client = openssl_client(server.port, *verifying(pki))
    client.write(b"hello\n")
    error = server.wait_error()
    assert isinstance(error, ProtocolError)
    assert error.alert.name == "certificate_required"
    client.wait_for(alert_pattern("certificate_required"))


def test_engine_server_refuses_openssl_client_from_untrusted_ca(
        pki, engine_server, openssl_client):
    server = engine_server(ServerConfig([pki.servers["p256"].keystore], trust=pki.trust,
                                        verify_client="require"))
    client = openssl_client(server.port, *verifying(pki), *pki.stranger_client.openssl_args())
    client.write(b"hello\n")
    error = server.wait_error()
    assert isinstance(error, ProtocolError)
    assert error.alert.name == "unknown_ca"
    assert error.reason == "untrusted"
    client.wait_for(alert_pattern("unknown_ca"))


@pytest.mark.parametrize("command", ["k", "K"])
def test_openssl_client_key_update_is_followed_by_engine_server(
        pki, engine_server, openssl_client, command):
    server = engine_server(ServerConfig([pki.servers["p256"].keystore]))
    client = openssl_client(server.port, *verifying(pki), "-msg")
    mark = echo_check(client, b"before")
    for round_ in range(2):
        # openssl reads a command and what follows it in one buffer as the command alone:
        # wait until the KeyUpdate is out before writing the next line.
        client.write(command.encode() + b"\n")
        mark = client.wait_for(SENT_KEY_UPDATE, since=mark).end()
        mark = echo_check(client, b"after-%d" % round_, since=mark)
    if command == "K":  # the engine answered each update_requested with its own KeyUpdate
        client.wait_count("<<< TLS 1.3, Handshake [length 0005], KeyUpdate", 2)
    else:
        assert "<<< TLS 1.3, Handshake [length 0005], KeyUpdate" not in client.output


def test_engine_server_key_update_is_followed_by_openssl_client(
        pki, engine_server, openssl_client):
    def update_then_echo(tls):
        while True:
            data = tls.recv(65536)
            if not data:
                return
            if b"update" in data:
                tls.key_update(request_peer=True)
            tls.sendall(data)

    server = engine_server(ServerConfig([pki.servers["p256"].keystore]), update_then_echo)
    client = openssl_client(server.port, *verifying(pki), "-msg")
    mark = echo_check(client, b"update")
    mark = echo_check(client, b"after", since=mark)
    # openssl received our update_requested (01) and answered with update_not_requested (00).
    client.wait_for(r"<<< TLS 1.3, Handshake \[length 0005\], KeyUpdate\s+18 00 00 01 01")
    client.wait_for(r">>> TLS 1.3, Handshake \[length 0005\], KeyUpdate\s+18 00 00 01 00")


REFUSALS = {
    # case: (server identity, extra openssl options, alert openssl sends)
    "untrusted_ca": ("stranger", [], "unknown_ca"),
    "wrong_name": ("good", ["-verify_hostname", "wrong.example"], "bad_certificate"),
    "revoked": ("revoked", ["-crl_check", "-CRL", "{crl}"], "certificate_revoked"),
    "expired": ("expired", [], "certificate_expired"),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_openssl_client_refuses_bad_engine_server_certificate(
        pki, engine_server, openssl_client, case):
    attribute, extra, alert = REFUSALS[case]
    identity = pki.servers["p256"] if attribute == "good" else getattr(pki, attribute)
    server = engine_server(ServerConfig([identity.keystore]))
    extra = [arg.format(crl=pki.crl_path) for arg in extra]
    client = openssl_client(server.port, *verifying(pki), *extra)
    client.wait_for("Verification error|verify error")
    error = server.wait_error()
    assert isinstance(error, PeerAlertError)
    assert error.description.name == alert


def test_engine_server_reads_padded_and_fragmented_records_from_openssl(
        pki, engine_server, openssl_client):
    server = engine_server(ServerConfig([pki.servers["p256"].keystore]))
    client = openssl_client(server.port, *verifying(pki), "-record_padding", "512",
                            "-max_send_frag", "512")
    client.wait_for(r"Verify return code: 0 \(ok\)")
    echo_check(client, b"x" * 2000)


def test_engine_server_requesting_a_certificate_accepts_openssl_client_without_one(
        pki, engine_server, openssl_client):
    server = engine_server(ServerConfig([pki.servers["p256"].keystore], trust=pki.trust,
                                        verify_client="request"))
    client = openssl_client(server.port, *verifying(pki))
    echo_check(client, b"anonymous")
    assert server.wait_handshake().peer_chain == ()


def test_engine_server_refuses_openssl_client_without_a_common_alpn_protocol(
        pki, engine_server, openssl_client):
    server = engine_server(ServerConfig([pki.servers["p256"].keystore], alpn_protocols=("h2",)))
    client = openssl_client(server.port, *verifying(pki), "-alpn", "http/1.1")
    error = server.wait_error()
    assert error.alert.name == "no_application_protocol"  # RFC 7301 section 3.2
    client.wait_for(alert_pattern("no_application_protocol"))


@pytest.mark.parametrize("server_name", ["localhost", "other.example"])
def test_engine_server_picks_certificate_by_sni(pki, engine_server, openssl_client,
                                                server_name):
    server = engine_server(ServerConfig([pki.servers["p256"].keystore, pki.other.keystore]))
    client = openssl_client(server.port, "-CAfile", pki.ca_path, "-verify_return_error",
                            "-servername", server_name, "-verify_hostname", server_name)
    client.wait_for(r"Verify return code: 0 \(ok\)")
    client.wait_for(r"subject=CN ?= ?%s" % re.escape(server_name))
    assert server.wait_handshake().server_name == server_name


@pytest.mark.parametrize("sigalg,scheme", [("rsa_pss_rsae_sha512", "rsa_pss_rsae_sha512"),
                                           ("ed25519", "ed25519")])
def test_engine_server_follows_openssl_signature_algorithms(pki, engine_server,
                                                            openssl_client, sigalg, scheme):
    keystores = [pki.servers["rsa2048"].keystore, pki.servers["ed25519"].keystore]
    server = engine_server(ServerConfig(keystores))
    client = openssl_client(server.port, *verifying(pki), "-sigalgs", sigalg)
    client.wait_for(r"Verify return code: 0 \(ok\)")
    echo_check(client, b"signed")
    assert server.wait_handshake().signature_scheme == scheme


@pytest.mark.parametrize("option,value", [("-groups", "P-521"),
                                          ("-ciphersuites", "TLS_AES_128_CCM_SHA256")])
def test_engine_server_refuses_openssl_client_with_nothing_in_common(
        pki, engine_server, openssl_client, option, value):
    server = engine_server(ServerConfig([pki.servers["p256"].keystore]))
    client = openssl_client(server.port, *verifying(pki), option, value)
    error = server.wait_error()
    assert error.alert.name == "handshake_failure"
    client.wait_for(alert_pattern("handshake_failure"))


def test_openssl_client_sees_close_notify_from_engine_server(pki, engine_server, openssl_client):
    def greet_and_close(tls):
        tls.sendall(b"echo bye\n")
        tls.close()

    server = engine_server(ServerConfig([pki.servers["p256"].keystore]), greet_and_close)
    client = openssl_client(server.port, *verifying(pki), "-msg")
    client.wait_for(r"\necho bye\n")
    client.wait_for(r"<<< TLS 1.3, Alert \[length 0002\], warning close_notify")
    assert client.wait() == 0  # openssl ends on the server's close_notify


def test_engine_server_sees_close_notify_when_openssl_client_input_ends(
        pki, engine_server, openssl_client):
    seen = []

    def read_to_end(tls):
        data = b""
        while chunk := tls.recv(65536):
            data += chunk
        seen.append((data, [alert.name for alert in tls.alerts]))

    server = engine_server(ServerConfig([pki.servers["p256"].keystore]), read_to_end)
    client = openssl_client(server.port, *verifying(pki))
    client.wait_for(r"Verify return code: 0 \(ok\)")
    client.write(b"last words\n")
    client.close_stdin()  # s_client sends close_notify and exits
    assert client.wait() == 0
    server.stop()
    assert seen == [(b"last words\n", ["close_notify"])]
