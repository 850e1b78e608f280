"""A peer certificate with a non-positive serial number: cryptography warns when it parses
one, and a remote peer must not be able to make the engine write to its stderr. The verdict
(malformed, RFC 5280 4.1.2.2) is how such a certificate is reported."""

from __future__ import annotations

import datetime
import threading
import warnings

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

import engine
from engine.errors import EngineError
from engine.pki import CertificateAuthority, KeyStore, TrustStore
from engine.tls import codec
from engine.tls.certificates import peer_certificate

NOW = datetime.datetime.now(datetime.timezone.utc)
TIMEOUT = 10.0


def _client_certificate(ca, serial_bytes: bytes):
    """A client certificate from ``ca`` whose serial's encoding is then replaced by
    ``serial_bytes`` (same length): 0x00... is zero, 0x80... is negative."""
    key = ec.generate_private_key(ec.SECP256R1())
    serial = int.from_bytes(b"\x7a" + b"\x5c" * (len(serial_bytes) - 1), "big")
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "peer")]))
            .issuer_name(ca.certificate.subject).public_key(key.public_key())
            .serial_number(serial).not_valid_before(NOW - datetime.timedelta(days=1))
            .not_valid_after(NOW + datetime.timedelta(days=1))
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), False)
            .sign(ca.private_key, hashes.SHA256()))
    der = cert.public_bytes(Encoding.DER)
    encoded = bytes([2, len(serial_bytes)]) + serial.to_bytes(len(serial_bytes), "big")
    assert der.count(encoded) == 1
    return der.replace(encoded, bytes([2, len(serial_bytes)]) + serial_bytes), key


SERIALS = {"negative": b"\x80\x01\x02\x03", "zero": b"\x00"}


@pytest.fixture(scope="module")
def ca():
    return CertificateAuthority.create_root("Serial Root")


@pytest.mark.parametrize("kind", SERIALS)
def test_verifying_the_peer_chain_warns_nothing(ca, kind):
    der, _ = _client_certificate(ca, SERIALS[kind])
    message = codec.Certificate(b"", [(der, b"")])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(EngineError):
            peer_certificate(message, verify=True, trust=TrustStore([ca.certificate]), crls=(),
                             purpose="client", name=None)
    assert caught == []


def test_a_client_with_a_negative_serial_cannot_write_to_the_servers_stderr(ca, capfd):
    der, key = _client_certificate(ca, SERIALS["negative"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        client_cert = x509.load_der_x509_certificate(der)
    server_identity = ca.issue_server(["localhost"]).keystore()
    server_config = engine.ServerConfig(certificates=[server_identity],
                                        trust=TrustStore([ca.certificate]),
                                        verify_client="require")
    client_config = engine.ClientConfig(trust=TrustStore([ca.certificate]),
                                        certificate=KeyStore(key, client_cert))
    address, stop, bound = {}, threading.Event(), threading.Event()

    def ready(where):
        address["port"] = where[1]
        bound.set()

    thread = threading.Thread(
        target=engine.serve, args=("127.0.0.1", 0, server_config, lambda tls: None),
        kwargs=dict(ready=ready, stop=stop, max_connections=1, on_error=lambda *a: None),
        daemon=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        thread.start()
        assert bound.wait(TIMEOUT)
        try:
            with pytest.raises(EngineError):
                with engine.connect("localhost", address["port"], client_config,
                                    timeout=TIMEOUT) as tls:
                    tls.recv(10)
        finally:
            stop.set()
            thread.join(TIMEOUT)
    assert [w for w in caught if "serial" in str(w.message).lower()] == []
    assert "serial" not in capfd.readouterr().err.lower()
