"""curl against ``engine s_server --www``."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

CURL = shutil.which("curl")
pytestmark = pytest.mark.skipif(CURL is None, reason="the curl binary is not on PATH")
TIMEOUT = 15


@pytest.fixture
def www_server(pki, s_server):
    return s_server("--www", "--cert", pki.servers["p256"].cert_path,
                    "--key", pki.servers["p256"].key_path).port


def curl(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([CURL, "--silent", "--show-error", "--max-time", "10", *args],
                          capture_output=True, timeout=TIMEOUT,
                          env={**os.environ, "SSLKEYLOGFILE": ""})


def test_curl_gets_the_connection_page_from_engine_www_server(pki, www_server):
    result = curl("--cacert", pki.ca_path, "--tlsv1.3", "--write-out", "\n%{http_code}",
                  "https://localhost:%d/" % www_server)
    assert result.returncode == 0, result.stderr
    body, _, status = result.stdout.decode().rpartition("\n")
    assert status == "200"
    assert "TLSv1.3" in body
    assert re.search(r"TLS_(AES|CHACHA20)_\w+", body)
    assert "no client certificate" in body


def test_curl_reuses_the_connection_for_two_requests(pki, www_server):
    url = "https://localhost:%d/" % www_server
    result = curl("--cacert", pki.ca_path, "--verbose", url, url)
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().count("<h1>engine s_server</h1>") == 2
    assert b"Re-using existing connection" in result.stderr


def test_curl_refuses_engine_server_from_untrusted_ca(pki, www_server):
    result = curl("--cacert", pki.stranger_ca_path, "https://localhost:%d/" % www_server)
    assert result.returncode == 60  # CURLE_PEER_FAILED_VERIFICATION
