"""`engine verify`: exit status, per-file lines, the summary, JSON, usage errors."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from engine.cli import main
from tests._support.backends import VERIFY_BACKENDS


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    from engine.pki import CertificateAuthority

    folder = tmp_path_factory.mktemp("verify-cli")
    root = CertificateAuthority.create_root("CLI Root")
    issuing = root.create_intermediate("CLI Issuing")
    (folder / "ca.pem").write_bytes(root.certificate.public_bytes(Encoding.PEM))
    chains = folder / "chains"
    chains.mkdir()
    for i in range(3):
        leaf = issuing.issue_server(["host%d.example" % i])
        (chains / ("host%d.pem" % i)).write_bytes(
            b"".join(c.public_bytes(Encoding.PEM) for c in leaf.chain))
    revoked = issuing.issue_server(["revoked.example"])
    (folder / "revoked.pem").write_bytes(
        b"".join(c.public_bytes(Encoding.PEM) for c in revoked.chain))
    issuing.revoke(revoked.certificate.serial_number)
    (folder / "issuing.crl").write_bytes(issuing.crl().to_pem())
    (folder / "root.crl").write_bytes(root.crl().to_pem())
    return folder


def _run(capsys, *argv):
    status = main(["verify", *argv])
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.parametrize("backend", VERIFY_BACKENDS)
def test_all_valid_chains_exit_zero_with_a_summary(pki, capsys, backend):
    status, out, _ = _run(capsys, "--trust", str(pki / "ca.pem"), "--backend", backend,
                          str(pki / "chains"))
    assert status == 0
    assert out.count(".pem: ok") == 3
    assert out.strip().splitlines()[-1] == "3 chains: ok 3"


@pytest.mark.parametrize("backend", VERIFY_BACKENDS)
def test_a_revoked_chain_exits_one_and_is_counted(pki, capsys, backend):
    status, out, _ = _run(capsys, "--trust", str(pki / "ca.pem"), "--crl", str(pki / "issuing.crl"),
                          "--crl", str(pki / "root.crl"), "--backend", backend,
                          str(pki / "chains"), str(pki / "revoked.pem"))
    assert status == 1
    assert "revoked.pem: revoked (depth 0)" in out
    assert out.strip().splitlines()[-1] == "4 chains: ok 3, revoked 1"


def test_a_name_is_checked_for_every_chain(pki, capsys):
    status, out, _ = _run(capsys, "--trust", str(pki / "ca.pem"), "--name", "host1.example",
                          str(pki / "chains"))
    assert status == 1
    assert out.strip().splitlines()[-1] == "3 chains: name_mismatch 2, ok 1"


def test_json_output_lists_each_verdict_and_the_counts(pki, capsys):
    status, out, _ = _run(capsys, "--trust", str(pki / "ca.pem"), "--json", "--jobs", "2",
                          str(pki / "chains" / "host0.pem"), str(pki / "revoked.pem"),
                          "--crl", str(pki / "issuing.crl"), "--crl", str(pki / "root.crl"))
    document = json.loads(out)
    assert status == 1
    assert [(r["ok"], r["reason"]) for r in document["results"]] == [(True, None),
                                                                     (False, "revoked")]
    assert document["results"][0]["subject"] == "CN=host0.example"
    assert document["summary"] == {"ok": 1, "revoked": 1}


def test_a_client_purpose_refuses_server_certificates(pki, capsys):
    status, out, _ = _run(capsys, "--trust", str(pki / "ca.pem"), "--purpose", "client",
                          str(pki / "chains" / "host0.pem"))
    assert status == 1
    assert "bad_usage" in out


def test_a_file_without_a_certificate_is_malformed(pki, capsys, tmp_path):
    junk = tmp_path / "junk.pem"
    junk.write_bytes(b"nothing to see here")
    status, out, _ = _run(capsys, "--trust", str(pki / "ca.pem"), str(junk))
    assert status == 1
    assert "malformed" in out


@pytest.mark.parametrize("argv, message", [
    (["--trust", "/nonexistent/ca.pem", "x.pem"], "no such trust file"),
    (["--trust", "{ca}", "/nonexistent/chain.pem"], "no such file or directory"),
    (["--trust", "{ca}", "--crl", "/nonexistent.crl", "{ca}"], "no such CRL file"),
    (["--trust", "{ca}", "--jobs", "0", "{ca}"], "--jobs"),
    (["{ca}"], "--trust"),
])
def test_usage_errors_exit_two_with_one_line(pki, capsys, argv, message):
    argv = [a.replace("{ca}", str(pki / "ca.pem")) for a in argv]
    status, out, err = _run(capsys, *argv)
    assert status == 2
    assert message in err and len(err.strip().splitlines()) == 1


def test_an_empty_directory_is_a_usage_error(pki, capsys, tmp_path):
    status, _, err = _run(capsys, "--trust", str(pki / "ca.pem"), str(tmp_path))
    assert status == 2
    assert "no .pem" in err


def test_the_progress_bar_stays_off_when_stderr_is_not_a_terminal(pki, capsys):
    status, _, err = _run(capsys, "--trust", str(pki / "ca.pem"), str(pki / "chains"))
    assert status == 0
    assert err == ""


def test_the_progress_bar_draws_on_a_terminal(pki, capsys, monkeypatch):
    from engine import _progress
    from engine.cli import verify as command

    monkeypatch.setattr(_progress, "on_terminal", lambda stream: True)
    monkeypatch.setattr(command, "BAR_AFTER_S", 0.0)
    status, out, err = _run(capsys, "--trust", str(pki / "ca.pem"), str(pki / "chains"))
    chains = len(list((pki / "chains").iterdir()))
    assert status == 0 and "%d chains:" % chains in out
    assert "0/%d" % chains in err and "chains/s" in err  # tqdm's bar, then erased
    assert err.endswith("\r")