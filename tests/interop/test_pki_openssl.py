"""What the PKI makes, checked by the `openssl` binary, and PKCS#12 files exchanged with it."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import Encoding

from engine.errors import KeyStoreError
from engine.pki import KEY_TYPES, KeyStore

OPENSSL = shutil.which("openssl")
pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(OPENSSL is None, reason="the openssl binary is not installed"),
]


def openssl(*args, check=True):
    result = subprocess.run([OPENSSL, *map(str, args)], capture_output=True, text=True, timeout=60)
    if check and result.returncode != 0:
        raise AssertionError("openssl %s failed:\n%s%s" % (args[0], result.stdout, result.stderr))
    return result


def write_pem(path, *objects):
    path.write_bytes(b"".join(o.public_bytes(Encoding.PEM) for o in objects))
    return path


def verify_leaf(tmp_path, root, intermediate, leaf, crl, check=True):
    return openssl(
        "verify", "-CAfile", write_pem(tmp_path / "root.pem", root.certificate),
        "-untrusted", write_pem(tmp_path / "inter.pem", intermediate.certificate),
        "-crl_check", "-CRLfile", write_pem(tmp_path / "crl.pem", crl.crl),
        write_pem(tmp_path / "leaf.pem", leaf.certificate), check=check)


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_openssl_accepts_chain_and_crl_of_every_key_type(tmp_path, key_type, certificates):
    root = certificates.ca("Root %s" % key_type, key_type=key_type)
    intermediate = root.create_intermediate("Issuing %s" % key_type, key_type=key_type)
    leaf = intermediate.issue_server(["localhost", "127.0.0.1"], key_type=key_type)
    result = verify_leaf(tmp_path, root, intermediate, leaf, intermediate.crl())
    assert result.stdout.strip().endswith(": OK")


def test_openssl_rejects_a_revoked_leaf_saying_revoked(tmp_path, root, intermediate):
    leaf = intermediate.issue_server(["revoked.test"])
    intermediate.revoke(leaf.serial_number)
    result = verify_leaf(tmp_path, root, intermediate, leaf, intermediate.crl(), check=False)
    assert result.returncode != 0
    assert "certificate revoked" in result.stdout + result.stderr


def test_openssl_checks_the_whole_chain_against_both_crls(tmp_path, root, intermediate):
    leaf = intermediate.issue_client("alice")
    crls = write_pem(tmp_path / "crls.pem", root.crl().crl, intermediate.crl().crl)
    result = openssl(
        "verify", "-CAfile", write_pem(tmp_path / "root.pem", root.certificate),
        "-untrusted", write_pem(tmp_path / "inter.pem", intermediate.certificate),
        "-crl_check_all", "-CRLfile", crls, "-purpose", "sslclient",
        write_pem(tmp_path / "leaf.pem", leaf.certificate))
    assert result.stdout.strip().endswith(": OK")


def test_openssl_sees_the_server_purpose_and_names(tmp_path, root, intermediate):
    leaf = intermediate.issue_server(["www.example.test", "10.0.0.1"])
    args = ("verify", "-CAfile", write_pem(tmp_path / "root.pem", root.certificate),
            "-untrusted", write_pem(tmp_path / "inter.pem", intermediate.certificate),
            "-purpose", "sslserver")
    leaf_pem = write_pem(tmp_path / "leaf.pem", leaf.certificate)
    assert openssl(*args, "-verify_hostname", "www.example.test", leaf_pem).returncode == 0
    assert openssl(*args, "-verify_ip", "10.0.0.1", leaf_pem).returncode == 0
    assert openssl(*args, "-verify_hostname", "other.test", leaf_pem, check=False).returncode != 0


@pytest.mark.parametrize("key_type", ["p256", "ed25519", "rsa2048"])
def test_openssl_reads_keystores_written_here(tmp_path, intermediate, key_type):
    leaf = intermediate.issue_server(["p12.test"], key_type=key_type)
    path = tmp_path / "out.p12"
    leaf.keystore().save(path, "s3cret", kdf_rounds=2048)
    result = openssl("pkcs12", "-info", "-noout", "-in", path, "-passin", "pass:s3cret")
    assert "AES-256-CBC" in result.stderr + result.stdout
    assert openssl("pkcs12", "-info", "-noout", "-in", path, "-passin", "pass:nope",
                   check=False).returncode != 0


def test_keystores_made_by_openssl_export_load(tmp_path, root, intermediate):
    leaf = intermediate.issue_server(["exported.test"])
    key = tmp_path / "key.pem"
    key.write_bytes(leaf.private_key.private_bytes(
        Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    path = tmp_path / "exported.p12"
    openssl("pkcs12", "-export", "-inkey", key,
            "-in", write_pem(tmp_path / "leaf.pem", leaf.certificate),
            "-certfile", write_pem(tmp_path / "inter.pem", intermediate.certificate),
            "-out", path, "-passout", "pass:exported")
    loaded = KeyStore.load(path, "exported")
    assert loaded.certificate == leaf.certificate
    assert loaded.chain == [intermediate.certificate]
    with pytest.raises(KeyStoreError, match="wrong password"):
        KeyStore.load(path, "not it")


def test_legacy_openssl_export_loads_or_fails_typed(tmp_path, root):
    leaf = root.issue_client("legacy", key_type="rsa2048")
    key = tmp_path / "key.pem"
    key.write_bytes(leaf.private_key.private_bytes(
        Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    path = tmp_path / "legacy.p12"
    made = openssl("pkcs12", "-export", "-inkey", key, "-certpbe", "PBE-SHA1-3DES",
                   "-keypbe", "PBE-SHA1-3DES", "-macalg", "sha1",
                   "-in", write_pem(tmp_path / "leaf.pem", leaf.certificate),
                   "-out", path, "-passout", "pass:old", check=False)
    if made.returncode != 0:
        pytest.skip("this openssl cannot write PBE-SHA1-3DES files")
    assert KeyStore.load(path, "old").certificate == leaf.certificate
