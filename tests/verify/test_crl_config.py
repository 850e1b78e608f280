"""A CRL whose issuer name cannot be read or encoded is refused when a ClientConfig or
ServerConfig is made (it made every handshake an internal_error), and by verify_chains."""

from __future__ import annotations

import datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from engine.errors import CRLError
from engine.tls import ClientConfig, ServerConfig
from engine.verify import verify_chains
from tests._support.backends import VERIFY_BACKENDS
from tests.verify.verify_factory import make_chain


def _crl_with_unreadable_issuer() -> bytes:
    """A signed CRL whose issuer commonName is a UTF8String holding bytes that are not UTF-8
    (cryptography loads the CRL and fails on its issuer)."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Issuer QQQQ")])
    der = (x509.CertificateRevocationListBuilder().issuer_name(name).last_update(now)
           .next_update(now + datetime.timedelta(days=1))
           .add_extension(x509.CRLNumber(1), False).sign(key, hashes.SHA256())
           .public_bytes(Encoding.DER))
    return der.replace(b"Issuer QQQQ", b"Issuer \xff\xfeQQ")


@pytest.fixture(scope="module")
def bad_crl():
    der = _crl_with_unreadable_issuer()
    x509.load_der_x509_crl(der)  # loads: the fault is in the issuer only
    return der


def test_a_client_config_refuses_it(bad_crl):
    chain = make_chain(1)
    with pytest.raises(CRLError):
        ClientConfig(trust=[chain.root.certificate], crls=[bad_crl])
    with pytest.raises(CRLError):
        ClientConfig(trust=[chain.root.certificate], crls=[x509.load_der_x509_crl(bad_crl)])


def test_a_server_config_refuses_it(bad_crl):
    from engine.pki import CertificateAuthority

    ca = CertificateAuthority.create_root("CRL Config Root")
    keystore = ca.issue_server(["localhost"]).keystore()
    ServerConfig(certificates=[keystore], trust=[ca.certificate], crls=[ca.crl()],
                 verify_client="require")  # the same with a good CRL is taken
    with pytest.raises(CRLError):
        ServerConfig(certificates=[keystore], trust=[ca.certificate], crls=[bad_crl],
                     verify_client="require")


@pytest.mark.parametrize("backend", VERIFY_BACKENDS)
def test_verify_chains_refuses_it_with_a_crl_error(bad_crl, backend):
    chain = make_chain(1)
    with pytest.raises(CRLError):
        verify_chains([chain.presented], [chain.root.certificate], crls=[bad_crl],
                      backend=backend)
