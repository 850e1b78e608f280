"""KeyStore.from_pem: a certificate chain and its private key from PEM files or bytes, as
ssl.SSLContext.load_cert_chain takes them, with errors that name the file."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import (
    BestAvailableEncryption, Encoding, NoEncryption, PrivateFormat,
)

from engine.errors import KeyStoreError
from engine.pki import CertificateAuthority, KeyStore
from engine.tls import (
    ClientConfig, ClientConnection, HandshakeComplete, ServerConfig, ServerConnection,
)


class Pem:
    """A server certificate, its issuing CA and its key, written in the usual PEM forms."""

    def __init__(self, directory: Path):
        self.root = CertificateAuthority.create_root("PEM Test Root")
        self.issuer = self.root.create_intermediate("PEM Test Issuing CA")
        self.server = self.issuer.issue_server(["localhost"])
        self.rsa = self.issuer.issue_server(["localhost"], key_type="rsa2048")
        self.chain = (self.server.certificate.public_bytes(Encoding.PEM)
                      + self.issuer.certificate.public_bytes(Encoding.PEM))
        key = self.server.private_key
        self.key = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
        self.encrypted = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8,
                                           BestAvailableEncryption(b"s3cret"))
        self.files = {}
        for name, data in {
            "server.crt": self.chain,
            "server.key": self.key,
            "encrypted.key": self.encrypted,
            "combined.pem": self.chain + self.key,
            "key-first.pem": self.key + self.chain,
            "server.der": key.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption()),
            "rsa.crt": self.rsa.certificate.public_bytes(Encoding.PEM),
            "rsa.key": self.rsa.private_key.private_bytes(
                Encoding.PEM, PrivateFormat.TraditionalOpenSSL, NoEncryption()),
        }.items():
            path = directory / name
            path.write_bytes(data)
            self.files[name] = path


@pytest.fixture(scope="module")
def pem(tmp_path_factory):
    return Pem(tmp_path_factory.mktemp("pem"))


def check(keystore, pem, certificate=None):
    assert keystore.certificate == (certificate or pem.server.certificate)
    if certificate is None:
        assert keystore.chain == [pem.issuer.certificate]


@pytest.mark.parametrize("form", [str, Path])
def test_certificate_and_key_files(pem, form):
    check(KeyStore.from_pem(form(pem.files["server.crt"]), form(pem.files["server.key"])), pem)


@pytest.mark.parametrize("name", ["combined.pem", "key-first.pem"])
def test_one_file_holding_both_as_load_cert_chain_takes_it(pem, name):
    check(KeyStore.from_pem(pem.files[name]), pem)


def test_bytes_instead_of_files(pem):
    check(KeyStore.from_pem(pem.chain, pem.key), pem)


def test_a_der_key_and_a_traditional_rsa_key(pem):
    check(KeyStore.from_pem(pem.files["server.crt"], pem.files["server.der"]), pem)
    keystore = KeyStore.from_pem(pem.files["rsa.crt"], pem.files["rsa.key"])
    assert keystore.certificate == pem.rsa.certificate and keystore.key_type == "rsa2048"


@pytest.mark.parametrize("password", [b"s3cret", "s3cret", lambda: b"s3cret"])
def test_an_encrypted_key_opens_with_its_password(pem, password):
    check(KeyStore.from_pem(pem.files["server.crt"], pem.files["encrypted.key"],
                            password=password), pem)


def test_a_password_function_is_called_only_for_an_encrypted_key(pem):
    def never():
        raise AssertionError("asked for a password the key does not need")

    check(KeyStore.from_pem(pem.files["server.crt"], pem.files["server.key"], password=never),
          pem)


@pytest.mark.parametrize("cert, key, password, message", [
    ("server.crt", "encrypted.key", None,
     "the private key in {encrypted.key} is encrypted: give its password"),
    ("server.crt", "encrypted.key", b"wrong",
     "cannot decrypt the private key in {encrypted.key} (wrong password?)"),
    ("server.crt", "missing.key", None,
     "cannot read the private key file {missing.key}: No such file or directory"),
    ("server.crt", "server.crt", None,
     "{server.crt} holds no private key (no BEGIN PRIVATE KEY block)"),
    ("server.key", "server.key", None,
     "{server.key} holds no certificate (it holds a PRIVATE KEY)"),
    ("rsa.crt", "server.key", None,
     "{rsa.crt} and {server.key} do not make a key pair: the private key does not match the "
     "certificate of CN=localhost"),
])
def test_what_cannot_make_a_keystore_is_one_sentence_naming_the_file(pem, tmp_path, cert, key,
                                                                     password, message):
    names = {name: str(path) for name, path in pem.files.items()}
    names["missing.key"] = str(tmp_path / "missing.key")
    with pytest.raises(KeyStoreError) as caught:
        KeyStore.from_pem(names[cert], names[key], password=password)
    for name, path in names.items():
        message = message.replace("{%s}" % name, path)
    assert str(caught.value) == message


def test_pem_keystores_serve_and_authenticate_a_client(pem, tmp_path):
    client_cert = pem.issuer.issue_client("alice")
    (tmp_path / "alice.pem").write_bytes(
        client_cert.certificate.public_bytes(Encoding.PEM)
        + pem.issuer.certificate.public_bytes(Encoding.PEM)
        + client_cert.private_key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8,
                                                NoEncryption()))
    root = tmp_path / "root.pem"
    root.write_bytes(pem.root.certificate.public_bytes(Encoding.PEM))
    server = ServerConnection(ServerConfig(
        certificates=[KeyStore.from_pem(pem.files["server.crt"], pem.files["encrypted.key"],
                                        password="s3cret")],
        trust=root, verify_client="require"))
    client = ClientConnection(ClientConfig(trust=root,
                                           certificate=KeyStore.from_pem(tmp_path / "alice.pem")),
                              server_name="localhost")
    server_events = []
    for _ in range(4):
        data = client.data_to_send()
        if data:
            server_events += server.receive_data(data)
        data = server.data_to_send()
        if data:
            client.receive_data(data)
    done = [event for event in server_events if isinstance(event, HandshakeComplete)]
    assert done and done[0].peer_chain[0] == client_cert.certificate
