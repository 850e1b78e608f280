"""The commands against openssl: ``engine s_client`` to ``openssl s_server -www``, and
``openssl s_client`` to ``engine s_server``."""

from __future__ import annotations

import subprocess
import sys

from tests._support.certificates import ISSUER, ROOT

TIMEOUT = 20


def test_engine_s_client_fetches_the_openssl_www_page(pki, openssl_server):
    server = openssl_server(pki.servers["p256"], "-www")
    result = subprocess.run(
        [sys.executable, "-m", "engine", "s_client", "127.0.0.1:%d" % server.port,
         "--name", "localhost", "--trust", pki.ca_path, "--crl", pki.crl_path,
         "--crl", pki.root_crl_path],
        input=b"GET / HTTP/1.0\r\n\r\n", capture_output=True, timeout=TIMEOUT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(b"HTTP/1.0 200 ok")
    assert b"TLSv1.3" in result.stdout
    err = result.stderr.decode()
    assert "s:CN=localhost" in err and "i:CN=%s" % ISSUER in err
    assert "trusted root: CN=%s" % ROOT in err


def test_openssl_s_client_talks_to_engine_s_server(pki, openssl_client, s_server):
    identity = pki.servers["rsa2048"]
    server = s_server("--cert", identity.cert_path, "--key", identity.key_path,
                      "--cert2", pki.servers["p256"].cert_path,
                      "--key2", pki.servers["p256"].key_path)
    client = openssl_client(server.port, "-CAfile", pki.ca_path,
                            "-verify_return_error", "-servername", "localhost",
                            "-sigalgs", "RSA-PSS+SHA256")
    client.wait_for(r"Verify return code: 0 \(ok\)")
    client.wait_for("Peer signature type: RSA-PSS")
    client.write(b"echo through the command\n")
    client.wait_for(r"\necho through the command\n")
    assert server.stop() == 0
    assert "signature rsa_pss_rsae_sha256" in server.stderr
