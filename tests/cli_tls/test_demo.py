"""``engine demo``: the scenario end to end, eight steps and two refusals."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest


@pytest.fixture(scope="module")
def demo() -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "engine", "demo"], capture_output=True,
                          timeout=60)


def test_demo_exits_zero(demo):
    assert demo.returncode == 0, demo.stdout.decode() + demo.stderr.decode()


def test_demo_prints_the_eight_steps_in_order(demo):
    out = demo.stdout.decode()
    positions = [out.find("(%d) " % step) for step in range(1, 9)]
    assert all(p >= 0 for p in positions), out
    assert positions == sorted(positions)


def test_demo_connects_by_dns_name_to_loopback(demo):
    assert re.search(r"\(1\).*localhost -> 127\.0\.0\.1.*127\.0\.0\.1:\d+", demo.stdout.decode())


def test_demo_shows_certificate_signature_keystore_and_revocation(demo):
    out = demo.stdout.decode()
    assert re.search(r"\(2\).*CN=localhost, issued by CN=engine demo Root CA", out)
    assert re.search(r"\(3\).*signature with the public key of .*TrustStore: valid", out)
    assert re.search(r"\(4\).*x25519.*TLS_\w+", out)
    assert re.search(r"opens server\.p12 with its password: ok", out)
    assert re.search(r"wrong password: refused", out)
    assert re.search(r"\(7\).*CRL number \d+.*the server's serial 0x[0-9a-f]+ is not among them", out)


def test_demo_counts_plaintext_and_record_bytes_both_ways(demo):
    out = demo.stdout.decode()
    sent = re.search(r"client -> server: (\d+) bytes of plaintext in (\d+) bytes of records", out)
    back = re.search(r"server -> client: (\d+) bytes of plaintext in (\d+) bytes of records", out)
    assert sent and back
    for match in (sent, back):
        plaintext, wire = int(match.group(1)), int(match.group(2))
        assert wire >= plaintext + 5 + 16 + 1  # header, AEAD tag, content type


def test_demo_shows_refusals_with_alert_and_reason(demo):
    out = demo.stdout.decode()
    assert re.search(r"revoked .*refused: client sent alert certificate_revoked.*revoked", out)
    assert "the server saw: alert certificate_revoked from the client" in out
    assert re.search(r"untrusted CA .*refused: client sent alert unknown_ca.*untrusted", out)


def test_demo_prints_no_password(demo):
    out = demo.stdout.decode() + demo.stderr.decode()
    assert "password of" in out and "(not shown)" in out
    assert "PRIVATE KEY" not in out


def test_demo_runs_with_another_key_type_group_and_suite():
    result = subprocess.run(
        [sys.executable, "-m", "engine", "demo", "--key-type", "ed25519", "--group",
         "X25519MLKEM768", "--cipher-suite", "TLS_CHACHA20_POLY1305_SHA256"],
        capture_output=True, timeout=60)
    out = result.stdout.decode()
    assert result.returncode == 0, out + result.stderr.decode()
    assert re.search(r"\(4\).*X25519MLKEM768.*TLS_CHACHA20_POLY1305_SHA256", out)
    assert re.search(r"\(5\).*CertificateVerify, ed25519", out)


def test_demo_refuses_an_unknown_group_with_status_2():
    result = subprocess.run([sys.executable, "-m", "engine", "demo", "--group", "ffdhe2048"],
                            capture_output=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.decode().startswith("engine: error: unknown group 'ffdhe2048'")
