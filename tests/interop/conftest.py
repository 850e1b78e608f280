"""The PKI of the interop tests, on disk for the independent stacks (Python's ssl, the openssl
binary, curl), and an HTTPS server of the standard library. Peers and their fixtures are
tests/_support/peers.py and tests/conftest.py."""

from __future__ import annotations

import dataclasses
import os

import pytest

from engine.pki import TrustStore
from tests._support.certificates import KEY_TYPES, Identity, pem, write
from tests._support.peers import HTTPSServer, ssl_server_context


def pytest_collection_modifyitems(items):
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.fspath).startswith(here):
            item.add_marker(pytest.mark.interop)


@dataclasses.dataclass
class PKI:
    root: object
    issuing: object  # intermediate CA that issues the server certificates
    ca_path: str  # the root, PEM
    trust: TrustStore
    crls: list  # RevocationLists of the root and the issuing CA
    crl_path: str  # the issuing CA's CRL, PEM (what openssl -crl_check needs for a leaf)
    crl_all_path: str  # both CRLs, PEM
    root_crl_path: str  # the root's CRL, PEM
    servers: dict  # key type -> Identity
    client: Identity  # CN=alice, issued by the root
    revoked: Identity
    expired: Identity
    stranger: Identity  # a server certificate from a CA nobody trusts
    stranger_ca_path: str
    stranger_client: Identity
    other: Identity  # a server certificate for other.example (SNI selection)


@pytest.fixture(scope="session")
def pki(certificates, tmp_path_factory) -> PKI:
    directory = tmp_path_factory.mktemp("interop-pki")
    root, issuing, stranger = certificates.root, certificates.issuer, certificates.stranger

    def identity(name, issued) -> Identity:
        return Identity.written(directory, name, issued)

    servers = {kt: identity("server-%s" % kt, certificates.server(key_type=kt))
               for kt in KEY_TYPES}
    revoked = identity("revoked", certificates.server(revoked=True))
    crls = [root.crl(), issuing.crl()]
    return PKI(
        root=root, issuing=issuing,
        ca_path=write(directory / "ca.pem", pem(root.certificate)),
        trust=TrustStore([root.certificate]),
        crls=crls,
        crl_path=write(directory / "issuing.crl.pem", crls[1].to_pem()),
        crl_all_path=write(directory / "all.crl.pem", crls[0].to_pem() + crls[1].to_pem()),
        root_crl_path=write(directory / "root.crl.pem", crls[0].to_pem()),
        servers=servers, client=identity("client", certificates.client(ca=root)),
        revoked=revoked,
        expired=identity("expired", certificates.server(expired=True)),
        stranger=identity("stranger", certificates.server(stranger)),
        stranger_ca_path=write(directory / "stranger-ca.pem", pem(stranger.certificate)),
        stranger_client=identity("stranger-client", certificates.client("eve", stranger)),
        other=identity("other", certificates.server(names=["other.example"])),
    )


@pytest.fixture
def https_server(pki):
    """An HTTPS server of the standard library with the p256 server certificate."""
    server = HTTPSServer(ssl_server_context(pki.servers["p256"]))
    yield server
    server.stop()
