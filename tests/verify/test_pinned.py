"""A certificate that is itself in the TrustStore is the whole chain (a pinned, self-signed
server certificate, as `openssl req -x509` makes it, with or without cA), in both backends
and in TLS handshakes against Python's ssl and between engine peers."""

from __future__ import annotations

import datetime
import shutil
import socket
import ssl
import subprocess
import threading

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

import engine
from engine.errors import TrustStoreError
from engine.pki import KeyStore, TrustStore
from engine.verify import verify_chains
from tests._support.backends import VERIFY_BACKENDS

NOW = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
DAY = datetime.timedelta(days=1)
TIMEOUT = 10.0


def self_signed(ca: bool | None, *, names=("localhost", "127.0.0.1"), eku=None,
                not_after=NOW + 30 * DAY, key_usage=None):
    """A self-signed certificate shaped as `openssl req -x509` makes it: SKI, AKI (its own
    key), basicConstraints (cA as asked, critical), a subjectAltName; no keyUsage."""
    import ipaddress

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    general = []
    for value in names:
        try:
            general.append(x509.IPAddress(ipaddress.ip_address(value)))
        except ValueError:
            general.append(x509.DNSName(value))
    builder = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(NOW - DAY).not_valid_after(not_after)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()),
                       False)
        .add_extension(x509.SubjectAlternativeName(general), False)
    )
    if ca is not None:
        builder = builder.add_extension(x509.BasicConstraints(ca=ca, path_length=None), True)
    if eku is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage(eku), False)
    if key_usage is not None:
        builder = builder.add_extension(key_usage, True)
    return builder.sign(key, hashes.SHA256()), key


@pytest.mark.parametrize("ca", [True, False, None], ids=["ca-true", "ca-false", "no-bc"])
def test_the_trust_store_takes_a_self_signed_certificate_to_pin(ca):
    certificate, _ = self_signed(ca)
    assert certificate in TrustStore([certificate])


def test_a_ca_false_certificate_of_another_issuer_is_still_refused():
    certificate, key = self_signed(False)
    other, _ = self_signed(True)
    leaf = x509.CertificateBuilder(
        subject_name=certificate.subject, issuer_name=x509.Name(
            [x509.NameAttribute(NameOID.COMMON_NAME, "Some CA")]),
        public_key=key.public_key(), serial_number=5, not_valid_before=NOW - DAY,
        not_valid_after=NOW + DAY, extensions=[]).sign(key, hashes.SHA256())
    with pytest.raises(TrustStoreError, match="self-signed"):
        TrustStore([leaf])
    assert other in TrustStore([other])


@pytest.mark.parametrize("backend", VERIFY_BACKENDS)
@pytest.mark.parametrize("ca", [True, False, None], ids=["ca-true", "ca-false", "no-bc"])
def test_a_pinned_certificate_is_the_whole_chain(ca, backend):
    certificate, _ = self_signed(ca)
    trust = TrustStore([certificate])
    for name in ("localhost", "127.0.0.1", None):
        (verdict,) = verify_chains([[certificate]], trust, names=[name], backend=backend)
        assert verdict.ok, verdict.detail
        assert verdict.chain == (certificate,)
    (verdict,) = verify_chains([[certificate]], trust, purpose="client", backend=backend)
    assert verdict.ok, verdict.detail


@pytest.mark.parametrize("backend", VERIFY_BACKENDS)
def test_a_pinned_certificate_is_still_checked(backend):
    wrong_name, _ = self_signed(True)
    expired, _ = self_signed(True, not_after=NOW - DAY)
    client_only, _ = self_signed(False, eku=[ExtendedKeyUsageOID.CLIENT_AUTH])
    signing_only, _ = self_signed(True, key_usage=x509.KeyUsage(
        False, False, False, False, False, True, True, False, False))
    stranger, _ = self_signed(True)
    cases = [(wrong_name, "elsewhere.example", "name_mismatch"),
             (expired, "localhost", "expired"),
             (client_only, "localhost", "bad_usage"),
             (signing_only, "localhost", "bad_usage")]
    for certificate, name, reason in cases:
        (verdict,) = verify_chains([[certificate]], TrustStore([certificate]), names=[name],
                                   backend=backend)
        assert (verdict.reason, verdict.depth) == (reason, 0), verdict.detail
    (verdict,) = verify_chains([[stranger]], TrustStore([wrong_name]), names=["localhost"],
                               backend=backend)
    assert verdict.reason == "untrusted"


@pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl binary")
@pytest.mark.parametrize("backend", VERIFY_BACKENDS)
def test_what_openssl_req_x509_makes_is_accepted(tmp_path, backend):
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-keyout", str(tmp_path / "key.pem"), "-out", str(tmp_path / "cert.pem"),
         "-subj", "/CN=localhost", "-days", "2",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True)
    trust = TrustStore.from_pem(tmp_path / "cert.pem")
    (certificate,) = trust
    (verdict,) = verify_chains([[certificate]], trust, names=["localhost"], backend=backend)
    assert verdict.ok, verdict.detail


def _ssl_server(certificate, key, tmp_path):
    """A Python ssl server presenting ``certificate`` that echoes one message."""
    (tmp_path / "cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(TIMEOUT)

    def serve():
        try:
            conn, _ = listener.accept()
            with context.wrap_socket(conn, server_side=True) as tls:
                tls.sendall(tls.recv(1024))
        except (OSError, ssl.SSLError):
            pass
        finally:
            listener.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return listener.getsockname()[1], thread


@pytest.mark.parametrize("ca", [True, False], ids=["ca-true", "ca-false"])
def test_the_engine_client_pins_a_python_ssl_servers_self_signed_certificate(tmp_path, ca):
    certificate, key = self_signed(ca)
    port, thread = _ssl_server(certificate, key, tmp_path)
    config = engine.ClientConfig(trust=TrustStore([certificate]))
    with engine.connect("localhost", port, config, timeout=TIMEOUT) as tls:
        tls.sendall(b"pinned")
        assert tls.recv_exactly(6) == b"pinned"
    thread.join(TIMEOUT)


@pytest.mark.parametrize("ca", [True, False], ids=["ca-true", "ca-false"])
def test_engine_peers_and_python_ssl_agree_on_a_pinned_engine_server(tmp_path, ca):
    certificate, key = self_signed(ca)
    server_config = engine.ServerConfig(certificates=[KeyStore(key, certificate)])
    address, stop = {}, threading.Event()
    bound = threading.Event()

    def ready(where):
        address["port"] = where[1]
        bound.set()

    def echo(tls):
        tls.sendall(tls.recv(1024))

    thread = threading.Thread(target=engine.serve, args=("127.0.0.1", 0, server_config, echo),
                              kwargs=dict(ready=ready, stop=stop, max_connections=2),
                              daemon=True)
    thread.start()
    assert bound.wait(TIMEOUT)
    try:
        config = engine.ClientConfig(trust=TrustStore([certificate]))
        with engine.connect("localhost", address["port"], config, timeout=TIMEOUT) as tls:
            tls.sendall(b"engine")
            assert tls.recv_exactly(6) == b"engine"
        (tmp_path / "pin.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        context = ssl.create_default_context(cafile=str(tmp_path / "pin.pem"))
        with socket.create_connection(("127.0.0.1", address["port"]), timeout=TIMEOUT) as raw:
            with context.wrap_socket(raw, server_hostname="localhost") as tls:
                tls.sendall(b"python")
                assert tls.recv(1024) == b"python"
    finally:
        stop.set()
        thread.join(TIMEOUT)
