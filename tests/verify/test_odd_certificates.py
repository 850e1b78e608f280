"""Certificates cryptography reads only in part (InvalidVersion, DuplicateExtension,
UnsupportedAlgorithm) and an iPAddress subjectAltName holding a network: a verdict with a
reason from verify_chains and `engine verify` (the same in both backends), a one-line error
(exit 2) from the commands that load a certificate, never a traceback."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization

from engine.cli import main
from engine.errors import CertificateError, TrustStoreError
from engine.pki import TrustStore
from engine.pki.certfile import read_certificates
from engine.verify import verify_chains
from tests._support.backends import VERIFY_BACKENDS
from tests.verify.odd_certificates import KINDS, issuer, odd

EXPECTED = {"invalid-version": "malformed", "duplicate-extension": "malformed",
            "unsupported-algorithm": "unsupported", "ip-network-san": "malformed"}


@pytest.fixture(scope="module")
def odd_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("odd")
    ca, ca_key = issuer()
    (folder / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    made = {}
    for kind in KINDS:
        der, key = odd(kind, ca, ca_key)
        (folder / (kind + ".der")).write_bytes(der)
        (folder / (kind + ".key")).write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
        made[kind] = der
    (folder / "pw").write_text("correct horse\n")
    return folder, ca, made


@pytest.mark.parametrize("backend", VERIFY_BACKENDS)
@pytest.mark.parametrize("kind", KINDS)
def test_verify_chains_gives_a_verdict_with_a_reason(odd_files, kind, backend):
    _, ca, made = odd_files
    (verdict,) = verify_chains([[made[kind]]], [ca], names=["odd.example.com"],
                               backend=backend)
    assert (verdict.reason, verdict.depth) == (EXPECTED[kind], 0), verdict.detail
    assert all(c is not None for c in verdict.chain)  # reading the path raises nothing


@pytest.mark.parametrize("kind", KINDS[:3])
def test_the_certificate_loader_refuses_them_with_one_typed_error(odd_files, kind):
    _, _, made = odd_files
    with pytest.raises(CertificateError, match="odd-source"):
        read_certificates(made[kind], "odd-source")
    with pytest.raises(TrustStoreError):
        TrustStore.from_pem(_pem(made[kind]))


def _pem(der: bytes) -> bytes:
    import base64
    import textwrap

    body = "\n".join(textwrap.wrap(base64.b64encode(der).decode(), 64))
    return ("-----BEGIN CERTIFICATE-----\n%s\n-----END CERTIFICATE-----\n" % body).encode()


@pytest.mark.parametrize("kind", KINDS)
def test_engine_verify_prints_a_verdict_line(odd_files, kind, capsys):
    folder, _, made = odd_files
    (folder / (kind + ".pem")).write_bytes(_pem(made[kind]))
    status = main(["verify", "--trust", str(folder / "ca.pem"), "--name", "odd.example.com",
                   str(folder / (kind + ".pem"))])
    out = capsys.readouterr().out
    assert status == 1
    assert ": %s" % EXPECTED[kind] in out and "Traceback" not in out


def _one_line_error(capsys, argv):
    status = main(argv)
    err = capsys.readouterr().err
    assert status == 2, err
    assert len(err.strip().splitlines()) == 1 and err.startswith("engine: error: "), err


@pytest.mark.parametrize("kind", KINDS[:3])
def test_commands_that_load_a_certificate_give_one_line(odd_files, kind, capsys, tmp_path):
    folder, _, made = odd_files
    cert = folder / (kind + ".der")
    key = str(folder / (kind + ".key"))
    _one_line_error(capsys, ["keystore", "create", "--cert", str(cert), "--key", key,
                             "--password-file", str(folder / "pw"), str(tmp_path / "k.p12")])
    _one_line_error(capsys, ["s_client", "--no-verify", "--cert", str(cert), "--key", key,
                             "127.0.0.1:9"])
    _one_line_error(capsys, ["s_server", "--cert", str(cert), "--key", key, "--port", "0"])


@pytest.mark.parametrize("kind", KINDS[:3])
def test_ca_list_of_a_directory_with_such_a_ca_certificate_gives_one_line(odd_files, kind,
                                                                        capsys, tmp_path):
    folder, _, made = odd_files
    directory = tmp_path / "ca"
    assert main(["ca", "init", "--password-file", str(folder / "pw"), str(directory)]) == 0
    capsys.readouterr()
    (directory / "ca.pem").write_bytes(_pem(made[kind]))
    _one_line_error(capsys, ["ca", "list", str(directory)])
