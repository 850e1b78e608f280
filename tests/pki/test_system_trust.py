"""TrustStore.system(): the operating system's CAs, found where OpenSSL and Python's ssl find them
(SSL_CERT_FILE and SSL_CERT_DIR first), certifi's bundle when the system has none, and nothing
written to stderr while reading them."""

from __future__ import annotations

import os
import ssl
import subprocess
import sys

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from engine.errors import TrustStoreError
from engine.pki import CertificateAuthority, TrustStore, system_trust

DEBIAN_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


def ders(store) -> set[bytes]:
    return {certificate.public_bytes(Encoding.DER) for certificate in store}


def pem(authority) -> bytes:
    return authority.certificate.public_bytes(Encoding.PEM)


@pytest.fixture
def clean_environment(monkeypatch):
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)


@pytest.fixture(scope="module")
def authorities():
    return [CertificateAuthority.create_root("System Test Root %d" % i) for i in range(3)]


def default_bundle() -> str | None:
    """The bundle ssl loads on this machine with the environment cleared, if there is one."""
    paths = ssl.get_default_verify_paths()
    for path in (paths.openssl_cafile, DEBIAN_BUNDLE):
        if os.path.isfile(path):
            return path
    return None


def test_the_system_store_holds_what_ssl_loads_from_the_default_bundle(clean_environment):
    bundle = default_bundle()
    if bundle is None:
        pytest.skip("this machine has no CA bundle at OpenSSL's default path")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cafile=bundle)
    expected = set(context.get_ca_certs(binary_form=True))
    store = TrustStore.system()
    assert expected and ders(store) == expected
    assert store.source == bundle and repr(store).endswith("from %s>" % bundle)


def test_ssl_cert_file_replaces_the_default_bundle(monkeypatch, tmp_path, authorities):
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(pem(authorities[0]) + pem(authorities[1]))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    store = TrustStore.system()
    assert list(store) == [authorities[0].certificate, authorities[1].certificate]
    assert store.source == str(bundle)


def test_ssl_cert_dir_adds_every_directory_it_names_hashed_names_included(
        monkeypatch, tmp_path, authorities):
    bundle, first, second = tmp_path / "bundle.pem", tmp_path / "one", tmp_path / "two"
    first.mkdir()
    second.mkdir()
    bundle.write_bytes(pem(authorities[0]))
    (first / "9d6523ce.0").write_bytes(pem(authorities[1]))  # as c_rehash names them
    (first / "authority.pem").symlink_to(first / "9d6523ce.0")  # one file, two names
    (second / "root.crt").write_bytes(pem(authorities[2]))
    (second / "README").write_text("not a certificate")
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    monkeypatch.setenv("SSL_CERT_DIR", os.pathsep.join([str(first), str(second)]))
    store = TrustStore.system()
    assert list(store) == [a.certificate for a in authorities]


def test_an_odd_certificate_in_a_system_bundle_is_passed_over(monkeypatch, tmp_path,
                                                               authorities):
    leaf = authorities[0].issue_server(["leaf.example"])
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(pem(authorities[0]) + b"-----BEGIN CERTIFICATE-----\nAAAA\n"
                       b"-----END CERTIFICATE-----\n" + pem(leaf) + pem(authorities[1]))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    assert list(TrustStore.system()) == [authorities[0].certificate, authorities[1].certificate]


def test_a_bundle_changed_on_disk_is_read_again(monkeypatch, tmp_path, authorities):
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(pem(authorities[0]))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    first = TrustStore.system()
    again = TrustStore.system()
    assert list(first) == list(again) and first is not again  # each call a store of its own
    bundle.write_bytes(pem(authorities[0]) + pem(authorities[2]))
    assert len(TrustStore.system()) == 2


@pytest.mark.parametrize("variable, message", [
    ("SSL_CERT_FILE", "SSL_CERT_FILE names .*missing.pem, which is not a file"),
    ("SSL_CERT_DIR", "SSL_CERT_DIR names .*missing.pem, which is not a directory"),
])
def test_an_environment_variable_naming_nothing_usable_says_so(monkeypatch, tmp_path,
                                                                variable, message):
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    monkeypatch.setenv(variable, str(tmp_path / "missing.pem"))
    with pytest.raises(TrustStoreError, match=message):
        TrustStore.system()


def test_an_ssl_cert_file_without_a_certificate_says_so(monkeypatch, tmp_path):
    empty = tmp_path / "empty.pem"
    empty.write_bytes(b"# no certificates here\n")
    monkeypatch.setenv("SSL_CERT_FILE", str(empty))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    with pytest.raises(TrustStoreError, match="SSL_CERT_FILE names .*empty.pem, which holds no "
                                              "CA certificate"):
        TrustStore.system()


def test_certifi_is_the_fallback_when_the_system_has_no_bundle(monkeypatch, tmp_path):
    certifi = pytest.importorskip("certifi")
    nowhere = system_trust.Locations((str(tmp_path / "none.pem"),), (str(tmp_path / "none"),),
                                     False, False)
    monkeypatch.setattr(system_trust, "locations", lambda: nowhere)
    store = TrustStore.system()
    assert store.source == certifi.where()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cafile=certifi.where())
    assert ders(store) == set(context.get_ca_certs(binary_form=True))


def test_no_trust_anchor_anywhere_is_one_plain_sentence_naming_where_it_looked(
        monkeypatch, tmp_path):
    nowhere = system_trust.Locations((str(tmp_path / "none.pem"),), (str(tmp_path / "none"),),
                                     False, False)
    monkeypatch.setattr(system_trust, "locations", lambda: nowhere)
    monkeypatch.setattr(system_trust, "certifi_bundle", lambda: None)
    with pytest.raises(TrustStoreError) as caught:
        TrustStore.system()
    message = str(caught.value)
    assert message.startswith("no system CA certificates were found (looked in %s"
                              % (tmp_path / "none.pem"))
    assert "pip install certifi" in message and "\n" not in message


def run_quietly(code: str, **environment) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items()
           if key not in ("SSL_CERT_FILE", "SSL_CERT_DIR", "PYTHONWARNINGS")}
    env.update(environment)
    return subprocess.run([sys.executable, "-W", "always", "-c", code], env=env,
                          capture_output=True, timeout=120)


def test_python_dash_e_ignores_the_environment_as_ssl_does(tmp_path, authorities):
    if default_bundle() is None:
        pytest.skip("this machine has no CA bundle at OpenSSL's default path")
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(pem(authorities[0]))
    code = "from engine.pki import TrustStore; print(len(TrustStore.system()))"
    env = {key: value for key, value in os.environ.items() if not key.startswith("SSL_CERT")}
    env["SSL_CERT_FILE"] = str(bundle)
    told = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    ignored = subprocess.run([sys.executable, "-E", "-c", code], env=env, capture_output=True,
                             text=True, cwd=os.path.dirname(os.path.dirname(os.path.dirname(
                                 os.path.abspath(__file__)))))
    assert told.stdout.strip() == "1"
    assert int(ignored.stdout.strip()) > 1, ignored.stderr


def test_the_debian_bundle_loads_and_verifies_without_a_word_on_stderr():
    """The bundle holds CAs whose authorityKeyIdentifier carries a non-positive serial, for
    which cryptography warns when it first reads the extensions; every warning is shown here
    (-W always) and stderr must stay empty through loading, a config and a verification."""
    if not os.path.isfile(DEBIAN_BUNDLE):
        pytest.skip("no %s on this machine" % DEBIAN_BUNDLE)
    code = """
import engine
from engine.pki import CertificateAuthority, TrustStore
from engine.verify import verify_chains

bundle = TrustStore(%r)
system = TrustStore.system()
config = engine.ClientConfig()
leaf = CertificateAuthority.create_root("Elsewhere").issue_server(["example.org"])
for backend in ("native", "python"):
    try:
        verdict = verify_chains([[leaf.certificate]], config.trust, backend=backend)[0]
    except engine.errors.BackendError:
        continue
    assert verdict.reason == "untrusted", verdict
print(len(bundle), len(system), len(config.trust))
""" % DEBIAN_BUNDLE
    result = run_quietly(code, SSL_CERT_FILE=DEBIAN_BUNDLE)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stderr == b""
    counts = result.stdout.split()
    assert len(counts) == 3 and len(set(counts)) == 1 and int(counts[0]) > 50
