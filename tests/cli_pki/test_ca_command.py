"""`engine ca`: init, issue, revoke, crl and list, end to end."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
from cryptography import x509

from engine.pki import KeyStore, RevocationList
from engine.pki.cadir import parse_serial

OPENSSL = shutil.which("openssl")


def serial_from(out):
    return parse_serial(out.split("issued serial ")[1].split()[0])


def test_init_reports_the_new_ca(cli, ca_dir):
    assert "created CA CN=CLI Root" in cli.out
    assert {"ca.p12", "ca.pem", "crl.pem", "index.json"} <= set(os.listdir(ca_dir))


def test_init_with_key_type_and_days(cli):
    assert cli.ca("init", "rsa-ca", "--key-type", "rsa2048", "--days", 30,
                  "--kdf-rounds", 1000) == 0
    cert = x509.load_pem_x509_certificate((cli.tmp_path / "rsa-ca" / "ca.pem").read_bytes())
    assert cert.public_key().key_size == 2048
    assert (cert.not_valid_after_utc - cert.not_valid_before_utc).days == 30


def test_init_twice_fails_with_one_line(cli, ca_dir):
    cli("ca", "init", "ca", "--password-file", cli.ca_password)
    cli.fails("ca", "init", "ca", "--password-file", cli.ca_password, match="already holds a CA")


def test_issue_server_writes_certificate_and_private_key(cli, ca_dir):
    assert cli.ca("issue", "ca", "--server", "localhost", "127.0.0.1", "--days", 10) == 0
    cert = x509.load_pem_x509_certificate((cli.tmp_path / "localhost.pem").read_bytes())
    assert cert.serial_number == serial_from(cli.out)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert os.stat(cli.tmp_path / "localhost.key").st_mode & 0o777 == 0o600


def test_issue_client_into_a_keystore_with_its_own_password(cli, ca_dir):
    assert cli.ca("issue", "ca", "--client", "alice", "--keystore", "alice.p12",
                  "--out-password-file", cli.out_password, "--kdf-rounds", 1000) == 0
    keystore = KeyStore.load(cli.tmp_path / "alice.p12", "keystore secret")
    assert keystore.certificate.subject.rfc4514_string() == "CN=alice"


def test_issue_keystore_without_its_password_fails_before_issuing(cli, ca_dir):
    cli.fails("ca", "issue", "ca", "--client", "bob", "--keystore", "bob.p12",
              "--password-file", cli.ca_password, match="--out-password-file")
    assert json.loads((ca_dir / "index.json").read_text())["issued"] == {}


def test_issue_refuses_to_overwrite_output(cli, ca_dir):
    (cli.tmp_path / "taken.pem").write_text("mine")
    cli.fails("ca", "issue", "ca", "--server", "x.test", "--out", "taken",
              "--password-file", cli.ca_password, match="taken.pem exists")
    assert (cli.tmp_path / "taken.pem").read_text() == "mine"


def test_issue_needs_server_or_client(cli, ca_dir):
    cli.fails("ca", "issue", "ca", "--password-file", cli.ca_password, match="--server")


def test_wrong_ca_password_fails_with_one_line(cli, ca_dir):
    (cli.tmp_path / "bad").write_text("not it\n")
    cli.fails("ca", "issue", "ca", "--client", "c", "--password-file", cli.tmp_path / "bad",
              match="wrong password")


def test_no_password_source_without_a_terminal_fails(cli, ca_dir):
    cli.fails("ca", "crl", "ca", match="--password-file")


def test_password_from_environment(cli, ca_dir, monkeypatch):
    monkeypatch.setenv("CA_PW", "ca secret")
    assert cli("ca", "crl", "ca", "--password-env", "CA_PW") == 0


def test_revoke_then_crl_publishes_the_serial(cli, ca_dir):
    cli.ca("issue", "ca", "--client", "mallory")
    serial = serial_from(cli.out)
    assert cli.ca("revoke", "ca", format(serial, "X"), "--reason", "key_compromise") == 0
    assert cli.ca("crl", "ca", "--out", "published.pem", "--days", 2) == 0
    assert "CRL number 2 with 1 revoked" in cli.out
    crl = RevocationList.load(cli.tmp_path / "published.pem")
    assert crl.lookup(serial).reason == x509.ReasonFlags.key_compromise
    assert RevocationList.load(ca_dir / "crl.pem").to_der() == crl.to_der()


def test_revoke_errors_are_one_line(cli, ca_dir):
    cli.fails("ca", "revoke", "ca", "abc123", "--password-file", cli.ca_password,
              match="not issued by this CA")
    cli.fails("ca", "revoke", "ca", "not-hex", "--password-file", cli.ca_password,
              match="not a hexadecimal serial")
    cli.fails("ca", "revoke", "ca", "abc", "--reason", "bored",
              "--password-file", cli.ca_password, match="unknown reason")


def test_list_shows_status_of_each_certificate(cli, ca_dir):
    cli.ca("issue", "ca", "--server", "one.test")
    first = serial_from(cli.out)
    cli.ca("issue", "ca", "--client", "two")
    cli.ca("revoke", "ca", format(first, "x"), "--reason", "superseded")
    assert cli("ca", "list", "ca") == 0
    lines = cli.out.splitlines()
    assert lines[0] == "CA CN=CLI Root: 2 issued, 1 revoked"
    assert lines[1].startswith(format(first, "x")) and "revoked(superseded)" in lines[1]
    assert "valid" in lines[2] and lines[2].endswith("client CN=two")


def test_list_of_a_plain_directory_fails(cli):
    os.mkdir(cli.tmp_path / "empty")
    cli.fails("ca", "list", "empty", match="not a CA directory")


@pytest.mark.skipif(OPENSSL is None, reason="the openssl binary is not installed")
def test_openssl_verifies_issued_leaf_then_sees_it_revoked(cli, ca_dir):
    cli.ca("issue", "ca", "--server", "svc.test", "--out", "svc")
    serial = serial_from(cli.out)
    verify = [OPENSSL, "verify", "-CAfile", str(ca_dir / "ca.pem"), "-crl_check",
              "-CRLfile", str(ca_dir / "crl.pem"), str(cli.tmp_path / "svc.pem")]
    assert subprocess.run(verify, capture_output=True).returncode == 0
    cli.ca("revoke", "ca", format(serial, "x"))
    cli.ca("crl", "ca")
    result = subprocess.run(verify, capture_output=True, text=True)
    assert result.returncode != 0 and "certificate revoked" in result.stdout + result.stderr


def test_two_commands_issuing_at_once_lose_no_serial(cli, ca_dir):
    script = (
        "import sys\nfrom engine.cli import main\n"
        "for i in range(4):\n"
        "    assert main(['ca', 'issue', sys.argv[1], '--client', sys.argv[2] + str(i),"
        " '--out', sys.argv[2] + str(i), '--password-file', sys.argv[3]]) == 0\n"
    )
    workers = [subprocess.Popen([sys.executable, "-c", script, str(ca_dir), tag,
                                 str(cli.ca_password)], cwd=cli.tmp_path,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
               for tag in ("a", "b")]
    serials = []
    for worker in workers:
        out, err = worker.communicate(timeout=300)
        assert worker.returncode == 0, err
        serials += [serial_from(line) for line in out.decode().splitlines()]
    index = json.loads((ca_dir / "index.json").read_text())
    assert len(serials) == 8
    assert {int(s, 16) for s in index["issued"]} == set(serials)


@pytest.mark.parametrize("argv", [
    ["ca"], ["ca", "init"], ["ca", "issue"], ["ca", "revoke"], ["ca", "crl"], ["ca", "list"],
])
def test_every_ca_command_has_help(cli, argv):
    with pytest.raises(SystemExit) as info:
        cli(*argv, "--help")
    assert info.value.code == 0
    assert "usage: engine " + " ".join(argv) in cli.capsys.readouterr().out


def test_common_name_option_is_for_servers_only(cli, ca_dir):
    cli.fails("ca", "issue", "ca", "--client", "carol", "--cn", "Carol",
              "--password-file", cli.ca_password, match="--cn is for server certificates")


def test_server_common_name_option(cli, ca_dir):
    assert cli.ca("issue", "ca", "--server", "api.test", "--cn", "API", "--out", "api") == 0
    cert = x509.load_pem_x509_certificate((cli.tmp_path / "api.pem").read_bytes())
    assert cert.subject.rfc4514_string() == "CN=API"


def test_bad_server_name_fails_and_records_nothing(cli, ca_dir):
    cli.fails("ca", "issue", "ca", "--server", "bad..name", "--password-file", cli.ca_password,
              match="neither an IP address nor a DNS name")
    assert json.loads((ca_dir / "index.json").read_text())["issued"] == {}


def test_bad_days_fail_in_the_parser(cli, ca_dir):
    cli.fails("ca", "crl", "ca", "--days", "0", "--password-file", cli.ca_password,
              match="days must be")
