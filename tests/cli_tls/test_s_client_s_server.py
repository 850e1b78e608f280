"""``engine s_server`` and ``engine s_client`` together, and their one-line errors."""

from __future__ import annotations

import http.client
import os
import ssl

import pytest

from tests._support.certificates import ROOT


def client_args(files, port: int, *extra: str) -> list:
    return ["s_client", "127.0.0.1:%d" % port, "--name", "localhost", "--trust", files.ca,
            "--idle-timeout", "0.5", *extra]


def test_s_client_sends_stdin_and_prints_the_echo(files, s_server, run_engine):
    server = s_server("--cert", files.cert, "--key", files.key)
    result = run_engine(*client_args(files, server.port), stdin=b"hello engine\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"hello engine\n"
    err = result.stderr.decode()
    assert "TLSv1.3, cipher TLS_" in err
    assert "verified chain:" in err and "s:CN=localhost" in err
    assert "trusted root: CN=%s" % ROOT in err


def test_s_server_serves_from_a_password_protected_keystore(files, s_server, run_engine):
    server = s_server("--keystore", files.keystore, "--password-file", files.password_file)
    result = run_engine(*client_args(files, server.port), stdin=b"from keystore")
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"from keystore"


def test_mutual_tls_between_s_client_and_s_server(files, s_server, run_engine):
    server = s_server("--cert", files.cert, "--key", files.key, "--trust", files.ca,
                      "--verify-client", "require")
    result = run_engine(*client_args(files, server.port, "--cert", files.client_cert,
                                     "--key", files.client_key), stdin=b"mutual")
    assert result.stdout == b"mutual", result.stderr
    assert server.stop() == 0
    assert "client CN=alice" in server.stderr


def test_s_client_authenticates_with_a_password_protected_keystore(files, s_server, run_engine):
    server = s_server("--cert", files.cert, "--key", files.key, "--trust", files.ca,
                      "--verify-client", "require")
    result = run_engine(*client_args(files, server.port, "--keystore", files.client_keystore,
                                     "--password-file", files.password_file), stdin=b"p12")
    assert result.stdout == b"p12", result.stderr
    server.stop()
    assert "client CN=alice" in server.stderr


def test_s_client_without_the_required_certificate_is_refused(files, s_server, run_engine):
    server = s_server("--cert", files.cert, "--key", files.key, "--trust", files.ca,
                      "--verify-client", "require")
    result = run_engine(*client_args(files, server.port), stdin=b"hello")
    assert result.returncode == 1
    assert "certificate_required" in result.stderr.decode()
    server.stop()
    assert "alert certificate_required" in server.stderr


def test_s_client_reports_an_untrusted_server_and_exits_1(files, s_server, run_engine):
    server = s_server("--cert", files.cert, "--key", files.key)
    result = run_engine("s_client", "127.0.0.1:%d" % server.port, "--name", "localhost",
                        "--trust", files.stranger_ca)
    assert result.returncode == 1
    err = result.stderr.decode()
    assert "handshake failed" in err and "unknown_ca" in err and "untrusted" in err
    server.stop()
    assert "the client sent alert unknown_ca" in server.stderr


def test_s_client_checks_the_crl(files, s_server, run_engine):
    server = s_server("--cert", files.revoked_cert, "--key", files.revoked_key)
    result = run_engine(*client_args(files, server.port, "--crl", files.crl))
    assert result.returncode == 1
    assert "certificate_revoked" in result.stderr.decode()


def test_s_client_alpn_and_group_choices_reach_the_server(files, s_server, run_engine):
    server = s_server("--cert", files.cert, "--key", files.key, "--alpn", "h2,http/1.1",
                      "--groups", "secp384r1")
    result = run_engine(*client_args(files, server.port, "--alpn", "http/1.1",
                                     "--groups", "x25519,secp384r1"), stdin=b"x")
    assert result.returncode == 0, result.stderr
    assert "group secp384r1" in result.stderr.decode()
    assert "ALPN http/1.1" in result.stderr.decode()


def test_s_server_www_answers_http_requests(files, s_server):
    server = s_server("--cert", files.cert, "--key", files.key, "--www")
    context = ssl.create_default_context(cafile=files.ca)
    connection = http.client.HTTPSConnection("localhost", server.port, context=context,
                                              timeout=10)
    try:
        for _ in range(2):  # two requests on one connection
            connection.request("GET", "/")
            response = connection.getresponse()
            body = response.read().decode()
            assert response.status == 200
            assert response.getheader("Content-Type").startswith("text/html")
            assert "TLSv1.3" in body and "TLS_" in body and "no client certificate" in body
    finally:
        connection.close()


def test_s_server_stops_on_sigterm_with_status_0(files, s_server):
    server = s_server("--cert", files.cert, "--key", files.key)
    assert server.stop() == 0
    assert "stopped after 0 connections" in server.stderr


def test_both_commands_write_sslkeylogfile(files, s_server, run_engine, tmp_path):
    server_log, client_log = tmp_path / "server.keys", tmp_path / "client.keys"
    server = s_server("--cert", files.cert, "--key", files.key,
                      env={**os.environ, "SSLKEYLOGFILE": str(server_log)})
    result = run_engine(*client_args(files, server.port), stdin=b"k",
                        env={**os.environ, "SSLKEYLOGFILE": str(client_log)})
    assert result.returncode == 0, result.stderr
    server.stop()
    labels = {line.split()[0] for line in client_log.read_text().splitlines()}
    assert {"CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_TRAFFIC_SECRET_0"} <= labels
    server_lines = set(server_log.read_text().splitlines())
    assert server_lines == set(client_log.read_text().splitlines())


USAGE_ERRORS = {
    "s_client without --trust": (["s_client", "localhost:1"], "--trust"),
    "s_client bad address": (["s_client", "localhost", "--no-verify"], "HOST:PORT"),
    "s_client bad port": (["s_client", "localhost:99999", "--no-verify"], "port"),
    "s_client missing trust file": (["s_client", "localhost:1", "--trust", "/nonexistent.pem"],
                                    "/nonexistent.pem"),
    "s_client unknown group": (["s_client", "localhost:1", "--no-verify", "--groups", "ffdhe2048"],
                               "ffdhe2048"),
    "s_server without certificate": (["s_server"], "--cert"),
    "s_server missing key file": (["s_server", "--cert", "{cert}", "--key", "/nonexistent.key"],
                                  "/nonexistent.key"),
    "s_server verify-client without trust": (
        ["s_server", "--cert", "{cert}", "--key", "{key}", "--verify-client", "require"],
        "--trust"),
    "s_server cert without key": (["s_server", "--cert", "{cert}"], "--key"),
    "s_server key that does not match": (["s_server", "--cert", "{cert}", "--key", "{ckey}"],
                                         "key pair"),
    "s_server wrong keystore password": (
        ["s_server", "--keystore", "{keystore}", "--password-file", "{cert}"], "password"),
    "s_server www with h2": (
        ["s_server", "--cert", "{cert}", "--key", "{key}", "--www", "--alpn", "h2,http/1.1"],
        "h2"),
    "s_server unknown cipher suite": (
        ["s_server", "--cert", "{cert}", "--key", "{key}", "--ciphersuites", "RC4"], "RC4"),
}


@pytest.mark.parametrize("case", sorted(USAGE_ERRORS))
def test_user_errors_are_one_line_with_status_2(files, run_engine, case):
    args, mentions = USAGE_ERRORS[case]
    args = [a.format(cert=files.cert, key=files.key, ckey=files.client_key,
                     keystore=files.keystore) for a in args]
    result = run_engine(*args)
    assert result.returncode == 2, (result.stdout, result.stderr)
    err = result.stderr.decode()
    assert err.count("\n") == 1 and err.startswith("engine: error: "), err
    assert mentions in err
    assert "Traceback" not in err


def test_s_client_cannot_connect_exits_1_with_the_reason(files, run_engine):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound, not listening: connection refused
        result = run_engine("s_client", "127.0.0.1:%d" % port, "--trust", files.ca)
    assert result.returncode == 1
    assert "cannot connect" in result.stderr.decode()


def test_s_server_on_a_port_in_use_is_a_one_line_error(files, run_engine):
    import socket

    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = run_engine("s_server", "--cert", files.cert, "--key", files.key,
                            "--port", str(port))
    assert result.returncode == 2
    err = result.stderr.decode()
    assert err.startswith("engine: error: cannot listen on 127.0.0.1:%d" % port)
    assert err.count("\n") == 1
