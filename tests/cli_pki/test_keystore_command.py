"""`engine keystore`: create from PEM files, show, and the one-line errors."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import Encoding

from engine.pki import CertificateAuthority, KeyStore


@pytest.fixture(scope="module")
def issued():
    root = CertificateAuthority.create_root("KS Root")
    inter = root.create_intermediate("KS Issuing")
    return inter.issue_server(["ks.test", "192.0.2.1"], key_type="rsa2048"), inter


@pytest.fixture
def pem_files(cli, issued):
    leaf, inter = issued
    (cli.tmp_path / "leaf.pem").write_bytes(leaf.certificate.public_bytes(Encoding.PEM))
    (cli.tmp_path / "inter.pem").write_bytes(inter.certificate.public_bytes(Encoding.PEM))
    (cli.tmp_path / "leaf.key").write_bytes(leaf.private_key.private_bytes(
        Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return leaf, inter


def create(cli, *extra):
    return cli("keystore", "create", "out.p12", "--cert", "leaf.pem", "--key", "leaf.key",
               "--password-file", cli.out_password, "--kdf-rounds", 1000, *extra)


def test_create_writes_key_certificate_and_chain(cli, pem_files):
    leaf, inter = pem_files
    assert create(cli, "--chain", "inter.pem") == 0
    loaded = KeyStore.load(cli.tmp_path / "out.p12", "keystore secret")
    assert loaded.certificate == leaf.certificate and loaded.chain == [inter.certificate]
    assert "rsa2048 key, 1 in chain" in cli.out


def test_show_describes_the_keystore(cli, pem_files):
    create(cli, "--chain", "inter.pem")
    assert cli("keystore", "show", "out.p12", "--password-file", cli.out_password) == 0
    assert "subject:    CN=ks.test" in cli.out
    assert "names:      ks.test, 192.0.2.1" in cli.out
    assert "chain 1:    CN=KS Issuing" in cli.out


def test_show_with_wrong_password_is_one_line(cli, pem_files):
    create(cli)
    cli.fails("keystore", "show", "out.p12", "--password-file", cli.ca_password,
              match="wrong password")
    assert "ca secret" not in cli.err


def test_show_of_truncated_and_corrupt_files(cli, pem_files):
    create(cli)
    data = (cli.tmp_path / "out.p12").read_bytes()
    (cli.tmp_path / "cut.p12").write_bytes(data[:100])
    cli.fails("keystore", "show", "cut.p12", "--password-file", cli.out_password,
              match="truncated")
    (cli.tmp_path / "junk.p12").write_bytes(b"\x01" * 200)
    cli.fails("keystore", "show", "junk.p12", "--password-file", cli.out_password,
              match="corrupt")


def test_create_with_a_key_of_another_certificate_fails(cli, pem_files):
    other = CertificateAuthority.create_root("Other").issue_client("x")
    (cli.tmp_path / "leaf.key").write_bytes(other.private_key.private_bytes(
        Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    cli.fails("keystore", "create", "out.p12", "--cert", "leaf.pem", "--key", "leaf.key",
              "--password-file", cli.out_password, match="does not match")


def test_create_with_missing_or_unreadable_inputs_fails(cli, pem_files):
    cli.fails("keystore", "create", "out.p12", "--cert", "nope.pem", "--key", "leaf.key",
              "--password-file", cli.out_password, match="cannot read certificate file")
    cli.fails("keystore", "create", "out.p12", "--cert", "leaf.pem", "--key", "inter.pem",
              "--password-file", cli.out_password, match="no readable private key")


def test_create_refuses_to_overwrite(cli, pem_files):
    (cli.tmp_path / "out.p12").write_bytes(b"keep")
    cli.fails("keystore", "create", "out.p12", "--cert", "leaf.pem", "--key", "leaf.key",
              "--password-file", cli.out_password, match="exists")


@pytest.mark.parametrize("argv", [["keystore"], ["keystore", "create"], ["keystore", "show"]])
def test_every_keystore_command_has_help(cli, argv):
    with pytest.raises(SystemExit) as info:
        cli(*argv, "--help")
    assert info.value.code == 0
