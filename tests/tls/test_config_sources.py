"""Trust, CRLs and certificates given as users hold them: paths of files and directories (str or
os.PathLike) wherever a TrustStore, a CRL or a KeyStore goes, the system's CAs when no trust is
given, and errors that open with a plain sentence naming the file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from engine.errors import (
    CertificateRevokedError, CRLError, KeyStoreError, TrustStoreError, UnknownCaError,
)
from engine.pki import CertificateAuthority, KeyStore, TrustStore
from engine.tls import (
    ClientConfig, ClientConnection, HandshakeComplete, ServerConfig, ServerConnection,
)
from engine.verify import verify_chains


class Files:
    """A CA and a server, as PEM files on disk."""

    def __init__(self, directory: Path):
        self.root = CertificateAuthority.create_root("Paths Test Root")
        self.issued = self.root.issue_server(["localhost"])
        self.revoked = self.root.issue_server(["localhost"])
        self.root.revoke(self.revoked.certificate.serial_number)
        self.ca = directory / "ca.pem"
        self.ca.write_bytes(self.root.certificate.public_bytes(Encoding.PEM))
        self.ca_dir = directory / "cas"
        self.ca_dir.mkdir()
        (self.ca_dir / "root.crt").write_bytes(self.root.certificate.public_bytes(Encoding.DER))
        self.crl = directory / "root.crl"
        self.crl.write_bytes(self.root.crl().crl.public_bytes(Encoding.PEM))
        self.cert = directory / "server.crt"
        self.cert.write_bytes(self.issued.certificate.public_bytes(Encoding.PEM))
        self.key = directory / "server.key"
        self.key.write_bytes(self.issued.private_key.private_bytes(
            Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
        self.garbage = directory / "garbage.pem"
        self.garbage.write_bytes(b"\x30\x82\x01\x00not DER at all")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return Files(tmp_path_factory.mktemp("paths"))


def handshake(client_config, server_config):
    client = ClientConnection(client_config, server_name="localhost")
    server = ServerConnection(server_config)
    events = []
    for _ in range(4):
        data = client.data_to_send()
        if data:
            server.receive_data(data)
        data = server.data_to_send()
        if data:
            events += client.receive_data(data)
    return events


def completed(events) -> bool:
    return any(isinstance(event, HandshakeComplete) for event in events)


@pytest.mark.parametrize("form", [str, Path])
@pytest.mark.parametrize("where", ["ca", "ca_dir"])
def test_a_client_trusts_a_bundle_or_directory_given_by_path(files, form, where):
    config = ClientConfig(trust=form(getattr(files, where)))
    assert isinstance(config.trust, TrustStore) and list(config.trust) == [files.root.certificate]
    assert completed(handshake(config, ServerConfig(certificates=[files.issued.keystore()])))


def test_crls_given_by_path_are_read_and_checked(files):
    server = ServerConfig(certificates=[files.revoked.keystore()])
    for crls in (str(files.crl), files.crl, [files.crl], (str(files.crl),)):
        config = ClientConfig(trust=str(files.ca), crls=crls)
        assert len(config.crls) == 1
        with pytest.raises(CertificateRevokedError):
            handshake(config, server)


def test_a_server_checks_client_certificates_against_a_trust_path(files):
    client_keystore = files.root.issue_client("alice").keystore()
    server = ServerConfig(certificates=[files.issued.keystore()], trust=files.ca,
                          crls=[str(files.crl)], verify_client="require")
    assert list(server.trust) == [files.root.certificate]
    client = ClientConfig(trust=files.ca, certificate=client_keystore)
    assert completed(handshake(client, server))


def test_a_server_certificate_from_pem_files(files):
    keystore = KeyStore.from_pem(files.cert, files.key)
    assert completed(handshake(ClientConfig(trust=files.ca),
                               ServerConfig(certificates=[keystore])))


def test_certificates_by_path_as_load_cert_chain_takes_them(files, tmp_path):
    combined = tmp_path / "server.pem"
    combined.write_bytes(files.cert.read_bytes() + files.key.read_bytes())
    for certificate in ((str(files.cert), files.key), combined, str(combined)):
        server = ServerConfig(certificates=[certificate])
        assert isinstance(server.certificates[0], KeyStore)
        assert server.certificates[0].certificate == files.issued.certificate
        assert completed(handshake(ClientConfig(trust=files.ca), server))
    client_cert = files.root.issue_client("bob")
    client_pem = tmp_path / "bob.pem"
    client_pem.write_bytes(client_cert.certificate.public_bytes(Encoding.PEM)
                           + client_cert.private_key.private_bytes(
                               Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    client = ClientConfig(trust=files.ca, certificate=client_pem)
    assert client.certificate.certificate == client_cert.certificate
    server = ServerConfig(certificates=[combined], trust=files.ca, verify_client="require")
    assert completed(handshake(client, server))


def test_a_certificate_path_that_cannot_be_used_names_the_file(files, tmp_path):
    with pytest.raises(KeyStoreError, match="^cannot read the certificate file .*nothing.pem: "):
        ServerConfig(certificates=[tmp_path / "nothing.pem"])
    with pytest.raises(KeyStoreError, match="server.crt holds no private key"):
        ClientConfig(trust=files.ca, certificate=files.cert)


def test_trust_store_takes_paths_and_certificates_together(files):
    other = CertificateAuthority.create_root("Other Root")
    store = TrustStore([str(files.ca), other.certificate, files.ca_dir])
    assert list(store) == [files.root.certificate, other.certificate]
    assert TrustStore(files.ca).source == str(files.ca)


def test_verify_chains_takes_trust_and_crl_paths(files):
    verdicts = verify_chains([[files.issued.certificate], [files.revoked.certificate]],
                             str(files.ca), crls=[files.crl])
    assert [verdict.reason for verdict in verdicts] == [None, "revoked"]


def test_without_trust_a_client_trusts_the_system_cas(files):
    config = ClientConfig()
    assert len(config.trust) > 0 and files.root.certificate not in config.trust
    with pytest.raises(UnknownCaError):
        handshake(config, ServerConfig(certificates=[files.issued.keystore()]))


def test_verify_false_needs_no_trust_at_all(files):
    config = ClientConfig(verify=False)
    assert config.trust is None
    assert completed(handshake(config, ServerConfig(certificates=[files.issued.keystore()])))


def plain(message: str) -> bool:
    """Whether ``message`` opens with a sentence of words before any library's own text."""
    head = message.split("(")[0]
    return bool(re.match(r"^[\w /.:-]+$", head)) and "ParseError" not in head


@pytest.mark.parametrize("options, error, expected", [
    ({"trust": "{missing}"}, TrustStoreError,
     "cannot read trust anchors from {missing}: No such file or directory"),
    ({"trust": "{garbage}"}, TrustStoreError, "{garbage} holds no readable certificate ("),
    ({"trust": "{key}"}, TrustStoreError, "{key} holds no certificate (it holds a PRIVATE KEY)"),
    ({"crls": ["{missing}"]}, CRLError, "cannot read CRL {missing}: No such file or directory"),
    ({"crls": "{garbage}"}, CRLError,
     "{garbage}: the data is not a PEM or DER certificate revocation list"),
])
@pytest.mark.parametrize("side", [ClientConfig, ServerConfig])
def test_a_path_that_cannot_be_used_is_one_plain_sentence_naming_it(files, tmp_path, side,
                                                                    options, error, expected):
    names = {"missing": str(tmp_path / "ca.pem"), "garbage": str(files.garbage),
             "key": str(files.key)}
    options = {key: [v.format(**names) for v in value] if isinstance(value, list)
               else value.format(**names) for key, value in options.items()}
    if side is ServerConfig:
        options["certificates"] = [files.issued.keystore()]
    with pytest.raises(error) as caught:
        side(**options)
    message = str(caught.value)
    assert message.startswith(expected.format(**names)) and plain(message), message
